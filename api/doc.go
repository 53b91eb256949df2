// Package api holds the L-KaaS API groups:
//
//   - automation.dcn.ssu.ac.kr/v1alpha1 (package automation/v1alpha1): InfrastructureProfile,
//     ClusterCatalog, Cluster and Fleet;
//   - intent.automation.dcn.ssu.ac.kr/v1 (package intent/v1): LogicalCluster;
//   - infrastructure.automation.dcn.ssu.ac.kr/v1alpha1 (package infrastructure/v1alpha1) and
//     controlplane.automation.dcn.ssu.ac.kr/v1alpha1 (package controlplane/v1alpha1):
//     ExistingCluster and ExistingControlPlane, the Cluster API objects L-KaaS represents an
//     existing cluster with when it has add-ons.
//
// The apiVersions are the ones the seed documents use, so files kept in Git apply as written
// once the loader has normalized them to the canonical form these types describe.
package api
