// The worker's workflowsPath: workflow functions only.
export { alertGroupWorkflow } from './alert-group'
export { heartbeatWorkflow } from './heartbeat'
