import type { ColumnType, Generated } from 'kysely'

// Table types added by the schedules issue (on-call shifts, layers, ical caches); merged into Database in schema.ts.

type Timestamp = ColumnType<string, string | undefined, string>
type NullableTimestamp = ColumnType<string | null, string | null | undefined, string | null>

export interface OnCallShiftsTable {
  pk: Generated<string>
  id: string
  organization_id: string
  team_id: string | null
  name: string | null
  type: 'single_event' | 'recurrent_event' | 'rolling_users' | 'override'
  time_zone: string | null
  level: ColumnType<number, number | undefined, number>
  start: string
  rotation_start: string
  until: string | null
  duration: number
  frequency: 'hourly' | 'daily' | 'weekly' | 'monthly' | null
  interval: number | null
  week_start: ColumnType<string, string | undefined, string>
  by_day: string[] | null
  by_month: number[] | null
  by_monthday: number[] | null
  users: ColumnType<string[], string[] | undefined, string[]>
  rolling_users: ColumnType<string[][] | null, string | null | undefined, string | null>
  start_rotation_from_user_index: number | null
  source: ColumnType<number, number | undefined, number>
  created_at: Timestamp
}

export interface ScheduleShiftsTable {
  pk: Generated<string>
  schedule_id: string
  shift_id: string
}

export interface ScheduleIcalCopiesTable {
  schedule_id: string
  organization_id: string
  calendar: 'primary' | 'overrides'
  url: string
  content: string | null
  fetched_at: NullableTimestamp
  attempted_at: string
  last_error: string | null
}

export interface SchedulesTables {
  on_call_shifts: OnCallShiftsTable
  schedule_shifts: ScheduleShiftsTable
  schedule_ical_copies: ScheduleIcalCopiesTable
}
