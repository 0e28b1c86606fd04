/**
 * The pure decision core: selection, windows, locks, `decide()`, snapshots and the reconcile pass, AutoBuild
 * grouping and AutoDeploy's sync check. No I/O; every function takes the clock as an argument.
 */
export * from './types';
export * from './selection';
export * from './windows';
export * from './locks';
export * from './decide';
export * from './snapshots';
export * from './world-schema';
export * from './autobuild';
export * from './autodeploy';
