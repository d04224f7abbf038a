// Table types added by the schedules issue (on-call shifts, layers, ical caches); merged into Database in schema.ts.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface SchedulesTables {}
