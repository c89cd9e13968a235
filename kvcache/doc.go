// Package kvcache holds the key/value cache of the attention layers.
//
// Contiguous (one flat buffer per sequence) serves tests and `golem run`. For serving, the cache
// is paged as in vLLM (Kwon et al. 2023, "Efficient Memory Management for Large Language Model
// Serving with PagedAttention"): Manager is the pure bookkeeping — fixed-size blocks, a free
// list, reference counts, per-sequence block tables, and a prefix cache keyed by a hash chain of
// full blocks, whose unreferenced entries are evicted least recently released first — and Paged
// is the storage (F32, F16 or Q8_0 rows) that implements model.KV over a Manager's block tables.
// The scheduler (package sched) drives the Manager; the model reads and writes through Paged.
package kvcache
