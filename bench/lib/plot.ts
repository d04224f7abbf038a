import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { quantile } from './stats'

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

/**
 * Cumulative distributions on a log x axis (share of samples at or under x), one line per series; a label in
 * `**bold**` draws a thicker line. Writes `<name>.svg` and `.png` into `outDir` and says where.
 */
export function plotCdf(
  outDir: string,
  name: string,
  plot: { title: string; xLabel: string; yLabel: string; series: ReadonlyArray<{ label: string; sorted: readonly number[] }>; unit?: string },
): string {
  const stages = plot.series
  const unit = plot.unit ?? 'ms'
  const width = 1000
  const height = 390 + Math.max(170, 64 + plot.series.length * 17)
  const margin = { left: 70, right: 24, top: 48, bottom: Math.max(170, 64 + stages.length * 17) }
  const all = stages.flatMap((s) => s.sorted).filter((v) => v > 0)
  // Ticks at 1, 2 and 5 times each power of ten; the axis spans the ticks around the data.
  const ticks: number[] = []
  for (let decade = 0.1; decade <= 1e6; decade *= 10) ticks.push(decade, 2 * decade, 5 * decade)
  const low = Math.min(...all, 1e6)
  const high = Math.max(...all, 0.1)
  const xMin = [...ticks].reverse().find((t) => t <= low) ?? 0.1
  const xMax = ticks.find((t) => t >= high && t > xMin) ?? 1e6
  const plotWidth = width - margin.left - margin.right
  const plotHeight = height - margin.top - margin.bottom
  const x = (v: number) => margin.left + ((Math.log10(Math.max(xMin, v)) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin))) * plotWidth
  const y = (share: number) => margin.top + (1 - share) * plotHeight
  const colours = ['#8e24aa', '#fb8c00', '#43a047', '#00acc1', '#e53935', '#757575', '#3949ab', '#6d4c41']
  const parts: string[] = [`<rect width="${width}" height="${height}" fill="white"/>`]
  for (const v of ticks.filter((t) => t >= xMin && t <= xMax)) {
    const decade = Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-9
    parts.push(
      `<line x1="${x(v).toFixed(1)}" x2="${x(v).toFixed(1)}" y1="${margin.top}" y2="${margin.top + plotHeight}" stroke="${decade ? '#ccc' : '#eee'}"/>`,
      `<text x="${x(v).toFixed(1)}" y="${margin.top + plotHeight + 18}" font-size="11" font-family="sans-serif" text-anchor="middle">${v >= 1 ? v.toFixed(0) : v.toFixed(1)}</text>`,
    )
  }
  for (const share of [0, 0.25, 0.5, 0.75, 0.9, 0.99, 1]) {
    parts.push(
      `<line x1="${margin.left}" x2="${width - margin.right}" y1="${y(share).toFixed(1)}" y2="${y(share).toFixed(1)}" stroke="${share === 0.5 || share === 0.99 ? '#bbb' : '#eee'}"/>`,
    )
    // 100% would overlap 99%: the top line goes unlabelled.
    if (share < 1) {
      parts.push(`<text x="${margin.left - 6}" y="${(y(share) + 4).toFixed(1)}" font-size="11" font-family="sans-serif" text-anchor="end">${(share * 100).toFixed(0)}%</text>`)
    }
  }
  for (const [n, stage] of stages.entries()) {
    if (stage.sorted.length === 0) continue
    const points = [`${x(stage.sorted[0] as number).toFixed(1)},${y(0).toFixed(1)}`]
    for (const [k, v] of stage.sorted.entries()) {
      points.push(`${x(v).toFixed(1)},${y(k / stage.sorted.length).toFixed(1)}`, `${x(v).toFixed(1)},${y((k + 1) / stage.sorted.length).toFixed(1)}`)
    }
    const colour = colours[n % colours.length] as string
    const bold = stage.label.startsWith('**')
    parts.push(`<polyline points="${points.join(' ')}" fill="none" stroke="${colour}" stroke-width="${bold ? 2.5 : 1.5}"/>`)
    const legendY = margin.top + plotHeight + 48 + n * 17
    parts.push(
      `<line x1="${margin.left}" x2="${margin.left + 24}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${colour}" stroke-width="${bold ? 2.5 : 1.5}"/>`,
      `<text x="${margin.left + 30}" y="${legendY}" font-size="12" font-family="sans-serif"${bold ? ' font-weight="bold"' : ''}>` +
        `${escapeXml(stage.label.replace(/\*\*/g, ''))}: p50 ${quantile(stage.sorted, 0.5).toFixed(1)} ${unit}, p99 ${quantile(stage.sorted, 0.99).toFixed(1)} ${unit}, max ${(stage.sorted[stage.sorted.length - 1] as number).toFixed(1)} ${unit}</text>`,
    )
  }
  parts.push(
    `<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${margin.top + plotHeight}" stroke="black"/>`,
    `<line x1="${margin.left}" x2="${width - margin.right}" y1="${margin.top + plotHeight}" y2="${margin.top + plotHeight}" stroke="black"/>`,
    `<text x="${margin.left + plotWidth / 2}" y="${margin.top + plotHeight + 36}" font-size="12" font-family="sans-serif" text-anchor="middle">${escapeXml(plot.xLabel)}</text>`,
    `<text x="16" y="${margin.top + plotHeight / 2}" font-size="12" font-family="sans-serif" text-anchor="middle" transform="rotate(-90 16 ${margin.top + plotHeight / 2})">${escapeXml(plot.yLabel)}</text>`,
    `<text x="${margin.left}" y="24" font-size="14" font-family="sans-serif">${escapeXml(plot.title)}</text>`,
  )
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n${parts.join('\n')}\n</svg>\n`
  return writePlot(outDir, name, svg, { width, height })
}
