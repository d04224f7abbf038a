import { simpleParser } from 'mailparser'
import { SMTPServer } from 'smtp-server'

// A local SMTP sink for trying email pages: it accepts every message and prints who it is for, its subject, its
// text and its links. Run `npm run mail-catcher`, then start Tocsin with TOCSIN_SMTP_URL=smtp://127.0.0.1:2525.

const port = Number(process.argv[2] ?? 2525)

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  onData(stream, _session, done) {
    simpleParser(stream)
      .then((mail) => {
        const to = Array.isArray(mail.to) ? mail.to.map((a) => a.text).join(', ') : (mail.to?.text ?? '')
        const links = [...new Set((mail.text ?? '').match(/https?:\/\/\S+/g) ?? [])]
        process.stdout.write(`\n--- ${new Date().toISOString()} to ${to}\nSubject: ${mail.subject ?? ''}\n\n${mail.text ?? ''}\n`)
        if (links.length > 0) process.stdout.write(`links:\n${links.map((l) => `  ${l}`).join('\n')}\n`)
        done()
      })
      .catch(done)
  },
})

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`mail catcher on smtp://127.0.0.1:${port} (Ctrl-C stops it)\n`)
})
process.once('SIGINT', () => server.close(() => process.exit(0)))
