import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

// Plots the benchmarks draw: SVG written by hand, and a PNG beside it.

const CHROMIUM = '/usr/bin/chromium'

/** Where a benchmark writes its plots: the directory `variable` names, or a new temporary one. */
export function plotDir(variable: string, prefix: string): string {
  return process.env[variable] ?? mkdtempSync(path.join(tmpdir(), prefix))
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/**
 * Writes `<name>.svg` into `outDir` and renders `<name>.png` beside it, with `rsvg-convert` (Debian's librsvg2-bin)
 * or else headless Chromium (which the browser tests install). Says which files it wrote.
 */
export function writePlot(outDir: string, name: string, svg: string, size: { width: number; height: number }): string {
  mkdirSync(outDir, { recursive: true })
  const svgFile = path.join(outDir, `${name}.svg`)
  const pngFile = path.join(outDir, `${name}.png`)
  writeFileSync(svgFile, svg)
  try {
    execFileSync('rsvg-convert', ['-o', pngFile, svgFile], { stdio: 'ignore' })
    return `${pngFile} (and ${svgFile})`
  } catch {
    // Not installed: try Chromium.
  }
  if (!existsSync(CHROMIUM)) return `${svgFile} (no PNG: neither rsvg-convert nor ${CHROMIUM} is installed)`
  // A profile of its own, so the screenshot neither reads nor leaves anything in the user's.
  const profile = mkdtempSync(path.join(tmpdir(), 'tocsin-plot-chromium-'))
  try {
    execFileSync(
      CHROMIUM,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--hide-scrollbars',
        `--user-data-dir=${profile}`,
        `--window-size=${size.width},${size.height}`,
        `--screenshot=${pngFile}`,
        `file://${svgFile}`,
      ],
      { stdio: 'ignore', timeout: 60_000 },
    )
    return `${pngFile} (and ${svgFile})`
  } catch {
    return `${svgFile} (no PNG: rsvg-convert is not installed and Chromium failed)`
  } finally {
    rmSync(profile, { recursive: true, force: true })
  }
}
