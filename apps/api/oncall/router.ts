import type { Request, Response, Router } from 'express'

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
export type Handler = (req: Request, res: Response) => Promise<void>

// Every (path, methods) ever registered, so a test can hold the OpenAPI document to the real routes.
const declared = new Map<string, Set<Method>>()

export function declaredRoutes(): ReadonlyMap<string, ReadonlySet<Method>> {
  return declared
}

/**
 * Registers one path with its methods; any other method gets DRF's 405. Express's non-strict routing already
 * makes the trailing slash optional without a redirect, as OnCall's optional-slash router does.
 */
export function resource(router: Router, path: string, handlers: Partial<Record<Method, Handler>>): void {
  const allowed = Object.keys(handlers).join(', ')
  const methods = declared.get(path) ?? new Set<Method>()
  for (const method of Object.keys(handlers) as Method[]) methods.add(method)
  declared.set(path, methods)
  router.all(path, async (req, res) => {
    const method = req.method === 'HEAD' ? 'GET' : (req.method as Method)
    if (req.method === 'OPTIONS') {
      res.set('Allow', `${allowed}, OPTIONS`).status(200).json({})
      return
    }
    const handler = handlers[method]
    if (!handler) {
      res.set('Allow', allowed).status(405).json({ detail: `Method "${req.method}" not allowed.` })
      return
    }
    await handler(req, res)
  })
}
