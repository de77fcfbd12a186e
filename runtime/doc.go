// Package runtime is infty's embedded engine: it loads a Hugging Face model folder (config.json,
// safetensors, tokenizer and chat template), runs it on a GoMLX backend and streams tokens
// through a KV cache, implementing the model contract of package llm (Engine). It knows nothing
// about iterations.
//
// The model definitions live in runtime/arch's registry, by their config.json "architectures"
// name (runtime/qwen registers Qwen2 and Qwen3); how weights lie in memory for fast decoding is
// runtime/kernels'. A model comes from a folder (Load, Open) or from weights already in memory
// (FromWeights), which is how a trainer samples from the weights it is updating. The ids that
// end an assistant turn, for generating and for training alike, are genconfig.EndOfTurnIDs'
// (GoMLX-free, so the remote engine uses the same definition).
//
// Concurrent generations of one model share each forward pass (continuous batching): a
// scheduler steps every sequence in flight through one batched graph over a shared KV cache,
// whose size BatchLimits bounds.
package runtime
