// Package ref is the plain-Go reference of every op in package graph: straightforward loops,
// float64 accumulation where it matters, written from the semantics in
// shared/golden/README.md §3 (ViLT as Hugging Face transformers computes it). The GPU op tests
// compare against these functions; they are not meant to be fast.
package ref
