/**
 * `lockstep`: the constructs of an installed Lockstep, for a team's own CDK app.
 *
 * @example
 * import { DeploymentSystem, SdkPublisher } from 'lockstep';
 * new DeploymentSystem(stack, 'Deploys', { pipeline: 'lockstep.config.yaml' });
 */
import { assertSupportedCdk } from './package-info';

// Before anything is built: an unsupported aws-cdk-lib fails here with the fix instead of deep inside a construct.
assertSupportedCdk();

export {
  DeploymentSystem,
  DeploymentSystemPropsError,
  type DeploymentSystemProps,
  type HandlerName,
} from './deployment-system';
export { SdkPublisher, SdkPublisherPropsError, type SdkPublisherProps } from './sdk-publisher';
export {
  LockstepStack,
  type AdoptedResources,
  type LockstepSdkPublisherProps,
  type LockstepStackProps,
} from './lockstep-stack';
export { applyNagChecks } from './nag';
export {
  assetPath,
  cdkVersionProblem,
  LOCKSTEP_VERSION,
  LockstepPackageError,
  SUPPORTED_CDK_RANGE,
} from './package-info';
export * from './config';
