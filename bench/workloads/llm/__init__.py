"""LLM inference: a Llama-architecture decoder, prefill and decode with a static KV cache, in four frameworks."""
