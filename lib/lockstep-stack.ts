/**
 * The stack `cdk deploy` creates: Lockstep's deployment system for one pipeline (and, later, the SDK publisher
 * beside it). Constructs that extend the system read what they need from `stack.deploymentSystem`.
 */
import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { DeploymentSystem, type DeploymentSystemProps } from './deployment-system';

export interface LockstepStackProps extends StackProps {
  /** Props of the deployment system; `pipeline` is the only one required. */
  readonly deploymentSystem: DeploymentSystemProps;
}

export class LockstepStack extends Stack {
  readonly deploymentSystem: DeploymentSystem;

  constructor(scope: Construct, id: string, props: LockstepStackProps) {
    super(scope, id, {
      description: `Lockstep continuous deployment for pipeline ${props.deploymentSystem.pipeline.pipeline.name}`,
      ...props,
    });
    this.deploymentSystem = new DeploymentSystem(this, 'DeploymentSystem', props.deploymentSystem);
  }
}
