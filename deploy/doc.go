// Package deploy holds no code: its tests check the deployment files of the repository
// (the Containerfile at the root and the Kubernetes manifests in kubernetes/) against the
// real `vilt` command: its flags, ports, probes and shard environment. The Kubernetes API
// types are imported by the tests only, so the library and the binary do not depend on
// them.
package deploy
