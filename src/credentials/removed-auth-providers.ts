// The legacy `gcp` and `azure` auth-providers were removed from client-go (1.26); kubectl fails
// with a message that names the replacement credential plugin, and so do we, on one line
// (plugin/pkg/client/auth/gcp/gcp_stub.go, azure/azure_stub.go).

const REMOVED: Readonly<Record<string, string>> = {
  gcp:
    'The gcp auth plugin has been removed. Please use the "gke-gcloud-auth-plugin" kubectl/client-go credential plugin instead. ' +
    'See https://cloud.google.com/blog/products/containers-kubernetes/kubectl-auth-changes-in-gke for further details',
  azure:
    'The azure auth plugin has been removed. Please use the https://github.com/Azure/kubelogin kubectl/client-go credential plugin instead. ' +
    'See https://kubernetes.io/docs/reference/access-authn-authz/authentication/#client-go-credential-plugins for further details',
};

/** client-go's removal message for an auth-provider name, if it is one of the removed ones. */
export function removedAuthProviderMessage(name: string | undefined): string | undefined {
  return name === undefined ? undefined : REMOVED[name];
}
