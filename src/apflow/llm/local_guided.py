"""Schema-constrained decoding for the embedded model, with forced tokens evaluated in batches.

Why not llama.cpp's own GBNF sampler: it checks the grammar one token at a time, so a key,
an id or an executor name the schema fixes still costs one forward pass per token. Our tree
schemas fix most of the answer (ids by position, ``schemas.method`` per branch, keys and
brackets). llguidance (the structured-decoding library behind Guidance, also used by
llama.cpp and vLLM) compiles the JSON Schema against the GGUF vocabulary lazily, gives a
token mask per step and, crucially, the *forced* tokens (``compute_ff_tokens``): those are
appended and evaluated in one ``llama_decode`` batch, which costs about as much as one
decoded token. What is left for the model is what needs judgement.

The loop (greedy at temperature 0; sampled from the masked distribution otherwise):

1. restore the longest cached prefix of the prompt, evaluate the rest, cache the state;
2. forced run? evaluate it in one batch and go on;
3. otherwise take the best token if the grammar accepts it (one cheap check), else apply
   the full mask; stop at the end token or when the grammar is complete.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from apflow.core.errors import LLMError
from apflow.llm.base import DecodeGuard

#: Compact JSON: the prompts' examples are compact, and every space would be a token.
JSON_OPTIONS = {
    "whitespace_flexible": False,
    "item_separator": ",",
    "key_separator": ":",
    "lenient": True,  # keywords llguidance does not know are ignored, not an error
}

#: A runaway answer repeats a block of at most RUNAWAY_PERIOD tokens until the output budget
#: ends (greedy decoding of a small model: ``"filingorder":1000000...``, ``"03wQJ9QJ9QJ9..."``;
#: 6 of 120 dev-suite answers; with "0" banned, one went on ``123456789123456789...``).
#: Once the last RUNAWAY_SPAN tokens are such a repetition, every token among them is banned
#: until the grammar forces text again (the value ended), so the model has to close the
#: number or string instead of spending the whole budget on it.
RUNAWAY_PERIOD = 12
RUNAWAY_SPAN = 24
#: How often (in answer tokens) a DecodeGuard is shown the answer so far: detokenizing a
#: 1,000-token answer takes well under a millisecond, a decoded token ~100 ms on 2 cores.
GUARD_EVERY = 8

_lock = threading.Lock()
_tokenizers: dict[int, Any] = {}
_matchers: dict[tuple[int, str], Any] = {}
_formatters: dict[int, Any] = {}


@dataclass
class GuidedOutput:
    """The answer's tokens and how they were produced."""

    tokens: list[int]
    forced: int
    decoded: int
    prompt_tokens: int
    prompt_evaluated: int
    prompt_from_disk: bool
    finish_reason: str
    prompt_seconds: float
    decode_seconds: float
    #: The text a DecodeGuard ended the answer with instead of the tokens' own (or None).
    text: str | None = None


def available() -> bool:
    try:
        import llguidance  # noqa: F401
    except ImportError:
        return False
    return True


def tokenizer(llm: Any) -> Any:
    """The llguidance view of the model's vocabulary (built once per model: ~1 s)."""
    with _lock:
        tok = _tokenizers.get(id(llm))
        if tok is None:
            from llguidance.llamacpp import lltokenizer_from_vocab

            tok = lltokenizer_from_vocab(llm._model.vocab, n_vocab=int(llm.n_vocab()))
            _tokenizers[id(llm)] = tok
        return tok


def matcher(llm: Any, schema: dict[str, Any]) -> Any:
    """A fresh matcher for ``schema``; the compiled grammar is kept per model and schema."""
    from llguidance import LLMatcher

    key = json.dumps(schema, sort_keys=True)
    with _lock:
        template = _matchers.get((id(llm), key))
    if template is None:
        # the schema as given, not ``key``: property order is the order the model writes in
        grammar = LLMatcher.grammar_from_json_schema(json.dumps(schema), defaults=JSON_OPTIONS)
        template = LLMatcher(tokenizer(llm), grammar, log_level=0)
        if template.is_error():
            raise LLMError(
                f"cannot decode under this JSON schema: {template.get_error()}",
                hint="keep the schema to types, properties, required, enum, const, "
                "anyOf, items, prefixItems and patterns",
            )
        with _lock:
            if len(_matchers) > 64:  # schemas change per request set; keep memory bounded
                _matchers.clear()
            _matchers[(id(llm), key)] = template
    return template.deep_copy()


def prompt_tokens(llm: Any, messages: list[dict[str, str]]) -> list[int]:
    """The chat messages in the model's own chat template, tokenized."""
    from llama_cpp import llama_chat_format

    formatter = _formatters.get(id(llm))
    if formatter is None:
        template = llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise LLMError(
                "the model file has no chat template",
                hint="use an instruction-tuned GGUF model with tokenizer.chat_template",
            )
        eos, bos = llm.token_eos(), llm.token_bos()
        formatter = llama_chat_format.Jinja2ChatFormatter(
            template=template,
            eos_token=llm._model.token_get_text(eos) if eos != -1 else "",
            bos_token=llm._model.token_get_text(bos) if bos != -1 else "",
            stop_token_ids=[eos],
        )
        _formatters[id(llm)] = formatter
    result = formatter(messages=messages)
    return list(
        llm.tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True)
    )


def _common_prefix(a: Any, b: list[int]) -> int:
    n = min(len(a), len(b))
    if n == 0:
        return 0
    diff = np.nonzero(np.asarray(a[:n]) != np.asarray(b[:n], dtype=np.asarray(a).dtype))[0]
    return int(diff[0]) if len(diff) else n


def system_prefix(llm: Any, messages: list[dict[str, str]], tokens: list[int]) -> int:
    """How many of ``tokens`` do not depend on the request: for ``[system, user]`` messages,
    the system part and the user turn's opening (0 for longer conversations: re-asks)."""
    if len(messages) != 2 or messages[0].get("role") != "system":
        return 0
    blank = prompt_tokens(llm, [messages[0], {**messages[1], "content": ""}])
    return _common_prefix(np.asarray(blank, dtype=np.intc), tokens)


def evaluate_prompt(
    llm: Any,
    tokens: list[int],
    *,
    stable: int = 0,
    state_key: tuple[Any, int] | None = None,
) -> tuple[int, bool]:
    """Bring the context to ``tokens`` reusing the longest prefix we have: in the context, in
    the RAM cache, or (for the ``stable`` request-independent prefix) on disk. Returns how
    many tokens were evaluated (at least the last one, so fresh logits exist) and whether
    the prefix came from disk."""
    from apflow.llm import prompt_states

    current = llm.input_ids[: llm.n_tokens]
    here = _common_prefix(current, tokens)
    if llm.cache is not None:
        try:
            item = llm.cache[tokens]
        except KeyError:
            item = None
        if item is not None and _common_prefix(item.input_ids[: item.n_tokens], tokens) > here:
            llm.load_state(item)
            here = _common_prefix(llm.input_ids[: llm.n_tokens], tokens)
    from_disk = False
    keep = state_key is not None and 0 < stable < len(tokens)
    if keep and here < stable:
        from_disk = prompt_states.load(llm, *state_key, tokens[:stable])
        if from_disk:
            here = stable
    here = min(here, len(tokens) - 1)
    llm.n_tokens = here  # eval() drops the KV cells past n_tokens
    start = here
    if keep and here < stable:
        llm.eval(tokens[here:stable])
        prompt_states.save(llm, *state_key, tokens[:stable])
        here = stable
    llm.eval(tokens[here:])
    if llm.cache is not None:
        llm.cache[tokens] = llm.save_state()
    return len(tokens) - start, from_disk


def _logits(llm: Any) -> np.ndarray:
    import llama_cpp

    pointer = llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1)
    return np.ctypeslib.as_array(pointer, shape=(int(llm.n_vocab()),))


def runaway(tokens: list[int]) -> bool:
    """Whether ``tokens`` end in RUNAWAY_SPAN tokens that repeat a block of 1-12 tokens."""
    if len(tokens) < RUNAWAY_SPAN:
        return False
    tail = tokens[-RUNAWAY_SPAN:]
    return any(
        all(tail[i] == tail[i - period] for i in range(period, RUNAWAY_SPAN))
        for period in range(1, RUNAWAY_PERIOD + 1)
    )


def _pick(
    logits: np.ndarray,
    guide: Any,
    temperature: float,
    bias: dict[int, float] | None,
    rng: np.random.Generator,
    banned: set[int] | frozenset[int] = frozenset(),
) -> int:
    if bias or banned:
        logits = logits.copy()
        for token, value in (bias or {}).items():
            logits[token] += value
        # very unlikely rather than impossible: when the grammar allows nothing else, it wins
        logits[list(banned)] = np.finfo(logits.dtype).min
    if temperature <= 0:
        best = int(np.argmax(logits))
        if best not in banned and guide.validate_tokens([best]) == 1:
            return best
    mask = np.frombuffer(guide.compute_bitmask(), dtype=np.uint8)
    allowed = np.unpackbits(mask, bitorder="little")[: len(logits)].astype(bool)
    if not allowed.any():
        raise LLMError("the grammar allows no token here", hint="report this schema as a bug")
    masked = np.where(allowed, logits, -np.inf)
    if temperature <= 0:
        return int(np.argmax(masked))
    scaled = (masked - masked.max()) / temperature
    probs = np.exp(scaled)
    probs /= probs.sum()
    return int(rng.choice(len(probs), p=probs))


def decode(
    llm: Any,
    messages: list[dict[str, str]],
    schema: dict[str, Any],
    *,
    max_tokens: int,
    temperature: float = 0.0,
    logit_bias: dict[int, float] | None = None,
    seed: int | None = None,
    state_key: tuple[Any, int] | None = None,
    guard: DecodeGuard | None = None,
) -> GuidedOutput:
    """One schema-constrained answer. The caller holds the model's decode lock.

    ``state_key`` (model path, context size) lets the request-independent prompt prefix be
    kept on disk for the next process (``prompt_states``)."""
    guide = matcher(llm, schema)
    tokens = prompt_tokens(llm, messages)
    started = time.perf_counter()
    stable = system_prefix(llm, messages, tokens) if state_key is not None else 0
    evaluated, from_disk = evaluate_prompt(llm, tokens, stable=stable, state_key=state_key)
    prompt_seconds = time.perf_counter() - started
    eos = int(llm.token_eos())
    rng = np.random.default_rng(seed)
    out: list[int] = []
    forced = decoded = 0
    banned: set[int] = set()
    finish = "length"
    ending: str | None = None
    watched = 0  # tokens since the guard last looked
    started = time.perf_counter()
    while len(out) < max_tokens:
        if guard is not None and len(out) - watched >= GUARD_EVERY:
            watched = len(out)
            late = guard.deadline is not None and time.monotonic() > guard.deadline
            ending = guard.stop(text_of(llm, out), late) if guard.stop else None
            if ending is not None or late:
                finish = "deadline" if late else "guard"
                break
        if guide.is_stopped():
            finish = "stop"
            break
        run = guide.compute_ff_tokens()
        if run:
            banned.clear()  # forced text: the runaway value (if any) has ended
            run = run[: max_tokens - len(out)]
            if not guide.consume_tokens(run):
                raise LLMError(f"the grammar refused its own forced tokens: {guide.get_error()}")
            llm.eval(run)
            out += run
            forced += len(run)
            continue
        if runaway(out):
            banned.update(out[-RUNAWAY_SPAN:])
        token = _pick(_logits(llm), guide, temperature, logit_bias, rng, banned)
        if token == eos or _is_end(llm, token):
            finish = "stop"
            break
        if not guide.consume_token(token):
            raise LLMError(f"the grammar refused a token it allowed: {guide.get_error()}")
        llm.eval([token])
        out.append(token)
        decoded += 1
    if finish == "length" and guide.is_accepting():
        finish = "stop"
    return GuidedOutput(
        tokens=out,
        forced=forced,
        decoded=decoded,
        prompt_tokens=len(tokens),
        prompt_evaluated=evaluated,
        prompt_from_disk=from_disk,
        finish_reason=finish,
        prompt_seconds=prompt_seconds,
        decode_seconds=time.perf_counter() - started,
        text=ending,
    )


def _is_end(llm: Any, token: int) -> bool:
    import llama_cpp

    return bool(llama_cpp.llama_vocab_is_eog(llm._model.vocab, token))


def text_of(llm: Any, tokens: list[int]) -> str:
    return llm.detokenize(tokens).decode("utf-8", errors="replace")


def tokens_per_second(output: GuidedOutput) -> float:
    total = output.forced + output.decoded
    return total / output.decode_seconds if output.decode_seconds > 0 else math.inf
