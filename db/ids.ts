import { randomInt } from 'node:crypto'

// OnCall's public-id alphabet: upper-case letters without O, digits without 0.
const ALPHABET = 'ABCDEFGHIJKLMNPQRSTUVWXYZ123456789'

export type IdPrefix = 'O' | 'U' | 'T' | 'I' | 'A' | 'C' | 'R' | 'F' | 'E' | 'S' | 'G' | 'WH' | 'EP' | 'N'

/** A new public id: the prefix plus 12 random characters, as OnCall makes them. */
export function newPublicId(prefix: IdPrefix): string {
  let id = prefix
  for (let i = 0; i < 12; i++) id += ALPHABET[randomInt(ALPHABET.length)]
  return id
}
