import nunjucks from 'nunjucks'
import { z } from 'zod'
import { drfBoolean, emptyAsNull, httpUrl, plainString, text } from './common'

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'] as const
export const TRIGGER_TYPES = [
  'escalation',
  'alert group created',
  'acknowledge',
  'resolve',
  'silence',
  'unsilence',
  'unresolve',
  'unacknowledge',
  'status change',
  'personal notification',
] as const

/** OnCall's words, a Python list repr included (and its missing "be"). */
const pythonList = (values: readonly string[]) => `[${values.map((v) => `'${v}'`).join(', ')}]`
export const TRIGGER_TYPE_MESSAGE = `trigger_type must one of ${pythonList(TRIGGER_TYPES)}`
export const PRESET_MESSAGE = 'Preset webhooks must be modified through web UI'
/** What OnCall shows instead of a stored secret; sent back, it means "keep the secret". */
export const SECRET_MASK = '****************'

// OnCall's JINJA_TEMPLATE_MAX_LENGTH.
const TEMPLATE_MAX_LENGTH = 50_000
const templateEnv = new nunjucks.Environment()

/** OnCall's template check, as a message or undefined: compiled only (there is no payload to render with). */
export function templateError(source: string): string | undefined {
  if (source.length > TEMPLATE_MAX_LENGTH) {
    return `Template Error: Template exceeds length limit (${source.length} > ${TEMPLATE_MAX_LENGTH})`
  }
  try {
    // Eagerly: nunjucks.compile(src, env) alone defers parsing to the first render and so accepts anything.
    new nunjucks.Template(source, templateEnv, undefined, true)
    return undefined
  } catch (err) {
    const message = (err instanceof Error ? err.message : String(err))
      .replace('(unknown path)', '')
      .replace(/\s+/g, ' ')
      .trim()
    return `Template Error: ${message}`
  }
}

const checkTemplate = (value: string, ctx: z.RefinementCtx) => {
  const message = templateError(value)
  if (message !== undefined) ctx.addIssue({ code: 'custom', message })
}

/** data, headers, trigger_template: "" and null are stored as null. */
const optionalTemplate = z.preprocess(
  (value) => (value === '' ? null : value),
  plainString().superRefine(checkTemplate).nullable(),
)

const JINJA_MARKUP = /{{|{%|{#/

/** A template; one without any Jinja markup is a literal URL and must be http(s) (it could never be sent). */
const urlTemplate = plainString()
  .trim()
  .min(1)
  .superRefine((value, ctx) => {
    // Blank is already reported (zod runs refinements past a failed min).
    if (value.length === 0) return
    const message = templateError(value)
    if (message !== undefined) return ctx.addIssue({ code: 'custom', message })
    if (!JINJA_MARKUP.test(value) && !httpUrl.safeParse(value).success)
      ctx.addIssue({ code: 'custom', message: 'Enter a valid URL.' })
  })

const secret = (max: number) => plainString().max(max).nullable()

const webhookFields = {
  name: text(100),
  is_webhook_enabled: drfBoolean,
  team: emptyAsNull(plainString().max(100)),
  data: optionalTemplate,
  username: plainString().max(100).nullable(),
  password: secret(1000),
  authorization_header: secret(2000),
  trigger_template: optionalTemplate,
  headers: optionalTemplate,
  url: urlTemplate,
  forward_all: drfBoolean,
  http_method: plainString()
    .trim()
    .min(1)
    .max(32)
    .refine((method) => (HTTP_METHODS as readonly string[]).includes(method), {
      message: `Must be one of ${pythonList(HTTP_METHODS)}`,
    }),
  // Only null is a field error here: any other unknown value is a detail answered by the router first, as OnCall
  // raises it ahead of the field errors.
  trigger_type: z.unknown().refine((value) => value !== null, { message: 'This field may not be null.' }),
  // OnCall reads any falsy value as "no filter"; the ids are checked against the organization by the router.
  integration_filter: z.preprocess((value) => (value ? value : []), z.array(z.unknown()).max(1000)),
  // The Go client always sends "preset": ""; that (or null) means "no change", any real preset is refused.
  preset: z
    .unknown()
    .refine((value) => value === undefined || value === null || value === '', { message: PRESET_MESSAGE }),
}

/** POST /api/v1/webhooks/. */
export const createWebhookSchema = z.object({
  ...webhookFields,
  is_webhook_enabled: webhookFields.is_webhook_enabled.default(true),
  team: webhookFields.team.optional(),
  data: webhookFields.data.default(null),
  username: webhookFields.username.default(null),
  password: webhookFields.password.default(null),
  authorization_header: webhookFields.authorization_header.default(null),
  trigger_template: webhookFields.trigger_template.default(null),
  headers: webhookFields.headers.default(null),
  forward_all: webhookFields.forward_all.default(true),
  trigger_type: webhookFields.trigger_type.refine((value) => value !== undefined, {
    message: 'This field is required.',
  }),
  integration_filter: webhookFields.integration_filter.optional(),
  preset: webhookFields.preset.optional(),
})

/** PUT/PATCH /api/v1/webhooks/{id}/: every field optional, as OnCall's update serializer has it. */
export const updateWebhookSchema = z.object(webhookFields).partial()

export type CreateWebhookRequest = z.infer<typeof createWebhookSchema>
export type UpdateWebhookRequest = z.infer<typeof updateWebhookSchema>
