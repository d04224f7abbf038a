import { applyReordering, InvalidPositionError, placeNew, reposition, type Ordered } from './ordering'

const chain = (...orders: number[]): Ordered[] => orders.map((order, i) => ({ id: `p${i}`, order }))
const orders = (rows: Ordered[]) => Object.fromEntries(rows.map((r) => [r.id, r.order]))

describe('placeNew (create)', () => {
  test('without a position it is appended at max + 1, 0 for an empty chain', () => {
    expect(orders(applyReordering([], placeNew([], 'n', undefined, false)))).toEqual({ n: 0 })
    expect(orders(applyReordering(chain(0, 1, 5), placeNew(chain(0, 1, 5), 'n', undefined, false)))).toMatchObject({ n: 6 })
  })

  test('at a position, the rest shift down (OnCall: [0,1,2] become [1,2,3], new at 0)', () => {
    const rows = chain(0, 1, 2)
    expect(orders(applyReordering(rows, placeNew(rows, 'n', 0, false)))).toEqual({ p0: 1, p1: 2, p2: 3, n: 0 })
  })

  test('past the end, nothing shifts and the gap stays', () => {
    const rows = chain(0, 1)
    expect(orders(applyReordering(rows, placeNew(rows, 'n', 7, false)))).toEqual({ p0: 0, p1: 1, n: 7 })
  })

  test('-1 means the end', () => {
    const rows = chain(0, 1, 2)
    expect(orders(applyReordering(rows, placeNew(rows, 'n', -1, false)))).toEqual({ p0: 0, p1: 1, p2: 2, n: 3 })
  })

  test('manual_order swaps with the holder (OnCall: [0,1,2] become [3,1,2], new at 0)', () => {
    const rows = chain(0, 1, 2)
    expect(orders(applyReordering(rows, placeNew(rows, 'n', 0, true)))).toEqual({ p0: 3, p1: 1, p2: 2, n: 0 })
  })

  test('-1 with manual_order, negative and too large positions are invalid', () => {
    expect(() => placeNew(chain(0), 'n', -1, true)).toThrow(InvalidPositionError)
    expect(() => placeNew(chain(0), 'n', -2, false)).toThrow(InvalidPositionError)
    expect(() => placeNew(chain(0), 'n', 2147483648, false)).toThrow(InvalidPositionError)
  })
})

describe('reposition (update)', () => {
  test('moving down shifts (old, p] up by one', () => {
    expect(orders(applyReordering(chain(0, 1, 2, 3), reposition(chain(0, 1, 2, 3), 'p0', 2, false)))).toEqual({
      p0: 2, p1: 0, p2: 1, p3: 3,
    })
  })

  test('moving up shifts [p, old) down by one', () => {
    expect(orders(applyReordering(chain(0, 1, 2, 3), reposition(chain(0, 1, 2, 3), 'p3', 1, false)))).toEqual({
      p0: 0, p1: 2, p2: 3, p3: 1,
    })
  })

  test('-1 moves to the current last place', () => {
    expect(orders(applyReordering(chain(0, 1, 2), reposition(chain(0, 1, 2), 'p0', -1, false)))).toEqual({ p0: 2, p1: 0, p2: 1 })
  })

  test('manual_order swaps (OnCall: order-1 policy to 0 on [0,1,2] gives [1,0,2])', () => {
    expect(orders(applyReordering(chain(0, 1, 2), reposition(chain(0, 1, 2), 'p1', 0, true)))).toEqual({ p0: 1, p1: 0, p2: 2 })
  })

  test('manual_order into a free slot just takes it; gaps left by deletes stay', () => {
    expect(orders(applyReordering(chain(0, 2, 5), reposition(chain(0, 2, 5), 'p0', 3, true)))).toEqual({ p0: 3, p1: 2, p2: 5 })
    expect(orders(applyReordering(chain(0, 2, 5), reposition(chain(0, 2, 5), 'p2', 1, false)))).toEqual({ p0: 0, p1: 3, p2: 1 })
  })

  test('to its own position changes nothing', () => {
    expect(orders(applyReordering(chain(0, 1), reposition(chain(0, 1), 'p1', 1, false)))).toEqual({ p0: 0, p1: 1 })
  })
})
