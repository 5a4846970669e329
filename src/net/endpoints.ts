/**
 * Private endpoints: the analogue of VPC interface endpoints. Each is its own listener on
 * its own address; requests arriving through one carry its `vpce-…` id (aws:SourceVpce)
 * and its endpoint policy in the call context, which authorization also checks.
 */
import type { EndpointSettings } from '../config/config.js';
import { parsePolicy } from '../iam/policy/index.js';
import type { EndpointChannel } from './edge-router.js';

/** A configured private endpoint, its policy parsed, ready to listen. */
export interface PrivateEndpoint {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  /** What the edge attaches to every request that arrives through this endpoint. */
  readonly channel: EndpointChannel;
}

/**
 * Builds the private endpoints from their settings, parsing each endpoint policy as kind
 * `endpoint`. Raises MalformedPolicyDocumentError for a policy that does not parse
 * (loadConfig has already refused those, so in practice it does not).
 */
export function privateEndpoints(settings: readonly EndpointSettings[]): PrivateEndpoint[] {
  return settings.map((e) => {
    const policy = e.policy !== undefined ? parsePolicy(e.policy, 'endpoint') : undefined;
    return {
      id: e.id,
      host: e.host,
      port: e.port,
      tls: e.tls,
      channel: { vpcEndpointId: e.id, ...(policy !== undefined ? { endpointPolicy: policy } : {}) },
    };
  });
}
