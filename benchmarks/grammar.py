"""Strict tree grammar: one schema with a position per task, or a fresh grammar per task?

Both make a DAG by construction (task k may name only tasks before it). This measures what
differs between them on the embedded model's real vocabulary (no decoding, so the numbers do
not depend on the model's speed):

- ``prefixItems``: one schema for the whole answer, ``MAX_TASKS`` positions, compiled once per
  executor offer and cached; one matcher follows the whole answer.
- per task: one schema per task position, compiled when the decoder reaches that task (the
  KV cache keeps the text before it); the host writes the brackets and commas between tasks.

For each it reports the compile time (matcher construction, cold), and the grammar's cost per
answer token (mask and forced-token computation along a real 3-task answer).

    python benchmarks/grammar.py            # needs the local extra and the default model
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time


def main() -> None:
    from llama_cpp import Llama
    from llguidance import LLMatcher
    from llguidance.llamacpp import lltokenizer_from_vocab

    from apflow.core.registry import default_registry
    from apflow.generator import schemas
    from apflow.llm import local_models
    from apflow.llm.local_guided import JSON_OPTIONS

    llm = Llama(model_path=str(local_models.model_path()), vocab_only=True, verbose=False)
    started = time.perf_counter()
    tokenizer = lltokenizer_from_vocab(llm._model.vocab, n_vocab=int(llm.n_vocab()))
    print(f"tokenizer from the GGUF vocabulary: {time.perf_counter() - started:.2f} s (once)")

    entries = [default_registry.describe(i) for i in default_registry.ids()]
    answer = {
        "tasks": [
            {
                "id": "t1",
                "schemas": {"method": "scrape_executor"},
                "inputs": {"url": "https://x.io"},
            },
            {
                "id": "t2",
                "schemas": {"method": "llm_executor"},
                "inputs": {"prompt": "Summarise: ${t1.result.text}"},
                "dependencies": ["t1"],
            },
            {
                "id": "t3",
                "schemas": {"method": "rest_executor"},
                "inputs": {"url": "https://y.io", "method": "POST", "json": "${t2.result}"},
                "dependencies": ["t2"],
            },
        ]
    }

    def compile_ms(schema: dict) -> tuple[float, object]:
        grammar = LLMatcher.grammar_from_json_schema(json.dumps(schema), defaults=JSON_OPTIONS)
        started = time.perf_counter()
        matcher = LLMatcher(tokenizer, grammar, log_level=0)
        matcher.compute_bitmask()  # the first mask finishes the lazy compile
        assert not matcher.is_error(), matcher.get_error()
        return (time.perf_counter() - started) * 1000, matcher

    def walk_us(matcher: object, text: str) -> tuple[float, int, int]:
        """Grammar CPU per step along ``text``; forced tokens counted as the decoder would."""
        data = text.encode()
        consumed: list[int] = []
        per_step, forced = [], 0
        while True:
            done = len(llm.detokenize(consumed))
            if done >= len(data):
                break
            started = time.perf_counter()
            run = matcher.compute_ff_tokens()
            if run:
                assert matcher.consume_tokens(run), matcher.get_error()
                consumed += run
                forced += len(run)
            else:
                matcher.compute_bitmask()
                token = llm.tokenize(data[done:], add_bos=False, special=False)[0]
                assert matcher.consume_token(token), matcher.get_error()
                consumed.append(token)
            per_step.append((time.perf_counter() - started) * 1e6)
        return statistics.mean(per_step), forced, len(consumed)

    text = json.dumps(answer, separators=(",", ":"))
    whole = schemas.strict_tree_schema(entries)
    ms, matcher = compile_ms(whole)
    step_us, forced, total = walk_us(matcher, text)
    print(
        f"prefixItems ({schemas.MAX_TASKS} positions, {len(json.dumps(whole)) // 1024} KB schema): "
        f"compile {ms:.0f} ms once per offer; {step_us:.0f} us grammar CPU per step; "
        f"{forced}/{total} answer tokens forced"
    )
    compiles = []
    for k in range(1, len(answer["tasks"]) + 1):
        earlier = [schemas.position_id(j) for j in range(1, k)]
        one = {"anyOf": [schemas.task_schema(k, e, earlier) for e in entries]}
        ms, _ = compile_ms(one)
        compiles.append(ms)
    print(
        "per task: compile "
        + ", ".join(f"{m:.0f}" for m in compiles)
        + f" ms for tasks 1-{len(compiles)} (each answer pays them all unless cached per "
        "position and offer, which is the prefixItems schema cut in pieces)"
    )
    print(f"load average {os.getloadavg()[0]:.2f}, python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
