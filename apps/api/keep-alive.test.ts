import { createServer } from 'node:http'
import { applyKeepAlive } from './app'

test('idle keep-alive connections stay open longer than clients and load balancers keep theirs', () => {
  const server = createServer()
  expect(server.keepAliveTimeout).toBe(5_000) // Node's default, the one that races clients
  applyKeepAlive(server)
  expect(server.keepAliveTimeout).toBeGreaterThan(60_000)
  expect(server.headersTimeout).toBeGreaterThan(server.keepAliveTimeout)
})
