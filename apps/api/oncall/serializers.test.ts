import { drfDateTime } from './serializers'
import { htmlEscape, pagingTitle } from '../../services/paging'

describe('drfDateTime renders as DRF does', () => {
  test.each([
    ['2024-08-15 18:05:36.801215+00', '2024-08-15T18:05:36.801215Z'],
    ['2024-08-15 18:05:36.8+00', '2024-08-15T18:05:36.800000Z'],
    ['2020-05-11 20:08:43+00', '2020-05-11T20:08:43Z'],
    ['2020-05-11 20:08:43.000000+00', '2020-05-11T20:08:43Z'],
  ])('%s → %s', (input, expected) => {
    expect(drfDateTime(input)).toBe(expected)
  })

  test('null stays null; a non-UTC session is a programming error', () => {
    expect(drfDateTime(null)).toBeNull()
    expect(() => drfDateTime('2024-08-15 18:05:36+02')).toThrow(/UTC/)
  })
})

test('paging titles join names as OnCall does', () => {
  expect(pagingTitle('amy', ['bob'])).toBe('amy is paging bob to join escalation')
  expect(pagingTitle('amy', ['bob', 'cy'])).toBe('amy is paging bob and cy to join escalation')
  expect(pagingTitle('amy', ['bob', 'cy', 'di'])).toBe('amy is paging bob, cy and di to join escalation')
})

test('htmlEscape matches Python html.escape', () => {
  expect(htmlEscape(`<a href="x">Tom & Jerry's</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#x27;s&lt;/a&gt;')
})
