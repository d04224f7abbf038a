import type { Request, Response, Router } from 'express'

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
export type Handler = (req: Request, res: Response) => Promise<void>

/**
 * Registers one path with its methods; any other method gets DRF's 405. Express's non-strict routing already
 * makes the trailing slash optional without a redirect, as OnCall's optional-slash router does.
 */
export function resource(router: Router, path: string, handlers: Partial<Record<Method, Handler>>): void {
  const allowed = Object.keys(handlers).join(', ')
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
