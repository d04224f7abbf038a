/** 408, 429, 5xx (and a stray 3xx) may pass on another attempt; any other 4xx (an invalid number, bad credentials) will not. */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500 || status < 400
}
