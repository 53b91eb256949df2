// Package api holds the L-KaaS API groups:
//
//   - automation.dcn.ssu.ac.kr/v1alpha1 (package automation/v1alpha1): InfrastructureProfile,
//     ClusterCatalog, Cluster and Fleet;
//   - intent.automation.dcn.ssu.ac.kr/v1 (package intent/v1): LogicalCluster.
//
// The apiVersions are the ones the seed documents use, so files kept in Git apply as written
// once the loader has normalized them to the canonical form these types describe.
package api
