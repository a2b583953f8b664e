"""The op-level training graph of a decoder-only transformer, without PyTorch.

:func:`transformer` writes down, operator by operator, the graph that
``remat extract --consume-grads`` (:func:`remat.frontends.torch.trace`)
gives for a Llama-style decoder built from ``torch.nn``::

    x = Embedding(vocab, d)(tokens)                          # tokens: (batch, seq) int64
    for each layer:
        q, k, v = Linear(d, 3 d, bias=False)(RMSNorm(d)(x)).split(d, dim=-1)   # viewed as heads
        x = x + Linear(d, d, bias=False)(scaled_dot_product_attention(q, k, v, is_causal=True))
        h = RMSNorm(d)(x)
        x = x + Linear(ff, d, bias=False)(silu(Linear(d, ff)(h)) * Linear(d, ff)(h))
    loss = cross_entropy(Linear(d, vocab, bias=False)(RMSNorm(d)(x)), targets)

The nodes are those of the extraction on CPU: ``nn.RMSNorm`` is six
operators forward (``pow``, ``mean``, ``add``, ``rsqrt``, ``mul``, ``mul``
by the weight) and fifteen backward; attention is the fused
``_scaled_dot_product_flash_attention_for_cpu`` (two outputs: the context
and the fp32 log-sum-exp; not recomputable, because the operator is tagged
random for its dropout argument) and its backward (three outputs, then a
``cat`` into the fused QKV gradient); each weight gradient is handed over
as soon as it exists (``--consume-grads``: not recomputable, never kept);
a final node ``output`` reads the loss. That is 71 nodes and 114 edges per
layer plus 31 nodes and 41 edges around them in fp32. In bf16 or fp16
(``dtype_bytes=2``) RMSNorm computes in fp32: a cast up before it and one
down after it, forward and backward, and the residual gradient is added
after the cast down: 81 nodes and 124 edges per layer plus 36 and 46. Node
ids name the layer and the role (``L3.attn.qkv``, ``L3.mlp.grad_w_up``).

Sizes are the bytes of each operator's output storage; costs follow the
frontend's default ``flops+bytes`` model: the FLOPs ``torch.utils.flop_counter``
counts (matrix products only: on CPU it knows no attention kernel) plus
``byte_weight`` times the bytes read and written, parameters and token ids
included. ``attention_flops=1`` adds the attention FLOPs the counter gives
the GPU kernels (4 and 10 x batch x heads x seq^2 x head size, forward and
backward). Parameters, token ids and targets are pinned memory outside the
graph, as in the extraction.
"""

from __future__ import annotations

import math

from remat.errors import GraphError
from remat.graph import Graph

INDEX_BYTES = 8  # token ids and targets are int64
LSE_BYTES = 4  # the attention kernel's log-sum-exp is fp32 whatever the activations' dtype
NORM_BYTES = 4  # RMSNorm computes in fp32 whatever the activations' dtype


class _Builder:
    """Nodes appended in topological order; ``add`` returns the new node's index."""

    def __init__(self, byte_weight: int) -> None:
        self.ids: list[str] = []
        self.cost: list[int] = []
        self.mem: list[int] = []
        self.preds: list[tuple[int, ...]] = []
        self.labels: list[str] = []
        self.rec: list[bool] = []
        self.byte_weight = byte_weight

    def add(self, nid: str, label: str, mem: int, preds: tuple[int, ...], *, flops: int = 0,
            moved: int = 0, rec: bool = True, secondary: bool = False) -> int:
        """Node ``nid`` of ``mem`` bytes reading ``preds``; ``moved`` is the bytes it reads besides
        its graph inputs' outputs (weights, token ids) plus the bytes of any further outputs.
        A ``secondary`` output of a multi-output operator costs 0 (the first output carries the cost)."""
        read = sum(self.mem[u] for u in preds)
        self.ids.append(nid)
        self.cost.append(0 if secondary else flops + self.byte_weight * (read + moved + mem))
        self.mem.append(mem)
        self.preds.append(tuple(sorted(preds)))
        self.labels.append(label)
        self.rec.append(rec)
        return len(self.ids) - 1


def transformer(layers: int = 4, d: int = 256, heads: int = 4, seq: int = 512, batch: int = 2,
                vocab: int = 32000, ff: int | None = None, dtype_bytes: int = 4,
                byte_weight: int = 10, attention_flops: int = 0) -> Graph:
    """Joint forward + backward graph of a decoder-only transformer (see the module docstring).

    Parameters
    ----------
    layers, d, heads : int
        Decoder layers, model width and attention heads (``heads`` divides ``d``).
    seq, batch : int
        Tokens per sequence and sequences per batch.
    vocab : int
        Vocabulary size (embedding rows and LM-head outputs).
    ff : int, optional
        SwiGLU hidden width; default the Llama convention, ``8 d / 3``
        rounded up to a multiple of 256.
    dtype_bytes : int
        Bytes per element of the model's parameters and activations: 4
        (fp32, the default: a model as built) or 2 (bf16 / fp16: RMSNorm
        still computes in fp32, between casts). The attention log-sum-exp
        stays fp32 and token ids int64.
    byte_weight : int
        FLOP-equivalents per byte read or written in the cost (the
        frontend's ``BYTE_WEIGHT``); 0 for FLOPs alone.
    attention_flops : int
        1 to count the attention kernel's FLOPs (as for a GPU kernel), 0
        (default) to count none, as the CPU extraction does.

    Returns
    -------
    Graph
        ``71 layers + 31`` nodes (``81 layers + 36`` in bf16) in the
        extraction's order (the forward, then the backward from the loss
        down to the embedding), sizes in bytes, costs in FLOP-equivalents.

    Raises
    ------
    GraphError
        When a parameter is not an integer in its range, ``dtype_bytes`` is not
        2 or 4, ``attention_flops`` is not 0 or 1, or ``heads`` does not divide ``d``.

    Examples
    --------
    >>> g = transformer(layers=2, d=64, heads=4, seq=16, vocab=100)
    >>> g.n, g.num_edges, g.ids[-1]
    (173, 269, 'output')
    >>> g.mem[g.index["L0.attn.qkv"]] == 2 * 16 * 3 * 64 * 4     # batch x seq x 3d, fp32
    True
    >>> transformer(layers=160, d=1024, heads=16, seq=2048).n
    11391
    >>> transformer(d=100, heads=3)
    Traceback (most recent call last):
    remat.errors.GraphError: transformer: heads (3) must divide d (100)
    """
    for label, val, low in (("layers", layers, 0), ("d", d, 1), ("heads", heads, 1), ("seq", seq, 1),
                            ("batch", batch, 1), ("vocab", vocab, 1), ("byte_weight", byte_weight, 0),
                            ("attention_flops", attention_flops, 0)):
        if isinstance(val, bool) or not isinstance(val, int) or val < low:
            raise GraphError(f"transformer: {label} must be an integer >= {low}, got {val!r}")
    if type(dtype_bytes) is not int or dtype_bytes not in (2, 4):
        raise GraphError(f"transformer: dtype_bytes must be 4 (fp32) or 2 (bf16, fp16), got {dtype_bytes!r}")
    if attention_flops > 1:
        raise GraphError(f"transformer: attention_flops must be 0 or 1, got {attention_flops!r}")
    if d % heads:
        raise GraphError(f"transformer: heads ({heads}) must divide d ({d})")
    if ff is None:
        ff = 256 * math.ceil(8 * d / 3 / 256)
    if isinstance(ff, bool) or not isinstance(ff, int) or ff < 1:
        raise GraphError(f"transformer: ff must be an integer >= 1, got {ff!r}")

    e, n_tok = dtype_bytes, batch * seq
    mixed = e < NORM_BYTES  # RMSNorm computes in fp32: casts up and down around it
    act, hid, logits = n_tok * d * e, n_tok * ff * e, n_tok * vocab * e
    norm_act, norm_row = n_tok * d * NORM_BYTES, n_tok * NORM_BYTES
    ids_bytes = n_tok * INDEX_BYTES
    lse = batch * heads * seq * LSE_BYTES
    attn_fwd = attention_flops * 4 * batch * heads * seq * seq * (d // heads)
    attn_bwd = attention_flops * 10 * batch * heads * seq * seq * (d // heads)
    b = _Builder(byte_weight)

    def norm_forward(p: str, x: int) -> tuple[int, int, int, int]:
        """RMSNorm of ``x``: (the fp32 input, rsqrt, the normalized input, the output)."""
        xf = b.add(f"{p}.upcast", "_to_copy", norm_act, (x,)) if mixed else x
        pw = b.add(f"{p}.pow", "pow", norm_act, (xf,))
        mean = b.add(f"{p}.mean", "mean", norm_row, (pw,))
        eps = b.add(f"{p}.add_eps", "add", norm_row, (mean,))
        rs = b.add(f"{p}.rsqrt", "rsqrt", norm_row, (eps,))
        normed = b.add(f"{p}.normed", "mul", norm_act, (xf, rs))
        out = b.add(f"{p}.scaled" if mixed else f"{p}.out", "mul", norm_act, (normed,), moved=d * e)
        if mixed:
            out = b.add(f"{p}.out", "_to_copy", act, (out,))
        return xf, rs, normed, out

    def norm_backward(p: str, x: int, rs: int, normed: int, grad: int, residual: int | None) -> int:
        """Backward of an RMSNorm (fp32 input ``x``) for output gradient ``grad``; adds ``residual``."""
        if mixed:
            grad = b.add(f"{p}.grad_upcast", "_to_copy", norm_act, (grad,))
        gw = b.add(f"{p}.normed_grad", "mul", norm_act, (normed, grad))
        gn = b.add(f"{p}.grad_normed", "mul", norm_act, (grad,), moved=d * e)
        if mixed:
            wsum = b.add(f"{p}.wgrad_sum", "sum", d * NORM_BYTES, (gw,))
            b.add(f"{p}.grad_w", "_to_copy", d * e, (wsum,), rec=False)
        else:
            b.add(f"{p}.grad_w", "sum", d * e, (gw,), rec=False)
        gx = b.add(f"{p}.grad_x_mul", "mul", norm_act, (x, gn))
        direct = b.add(f"{p}.grad_direct", "mul", norm_act, (rs, gn))
        s = b.add(f"{p}.grad_sum", "sum", norm_row, (gx,))
        if residual is not None and not mixed:
            direct = b.add(f"{p}.grad_acc", "add", act, (residual, direct))
        cube = b.add(f"{p}.rsqrt_cubed", "pow", norm_row, (rs,))
        half = b.add(f"{p}.grad_half", "mul", norm_row, (s,))
        scale = b.add(f"{p}.grad_scale", "mul", norm_row, (cube, half))
        # the division reads an expanded view of the per-token scale: an activation's worth of elements
        spread = b.add(f"{p}.grad_spread", "div", norm_act, (scale,), moved=norm_act - norm_row)
        x1 = b.add(f"{p}.x_pow1", "pow", norm_act, (x,))
        x2 = b.add(f"{p}.x_times2", "mul", norm_act, (x1,))
        through = b.add(f"{p}.grad_through", "mul", norm_act, (spread, x2))
        if not mixed:
            return b.add(f"{p}.grad_in", "add", act, (direct, through))
        total = b.add(f"{p}.grad_in_f32", "add", norm_act, (direct, through))
        down = b.add(f"{p}.grad_in", "_to_copy", act, (total,))
        return down if residual is None else b.add(f"{p}.grad_acc", "add", act, (residual, down))

    emb = b.add("embed", "embedding", act, (), moved=vocab * d * e + ids_bytes)
    x, saved = emb, []
    for i in range(layers):
        p = f"L{i}"
        xf1, rs1, n1, h1 = norm_forward(f"{p}.attn_norm", x)
        qkv = b.add(f"{p}.attn.qkv", "mm", 3 * act, (h1,), flops=2 * n_tok * d * 3 * d, moved=3 * d * d * e)
        ctx = b.add(f"{p}.attn.sdpa.0", "sdpa[0]", act, (qkv,), flops=attn_fwd, moved=lse, rec=False)
        lse_i = b.add(f"{p}.attn.sdpa.1", "sdpa[1]", lse, (qkv, ctx), rec=False, secondary=True)
        o = b.add(f"{p}.attn.out", "mm", act, (ctx,), flops=2 * n_tok * d * d, moved=d * d * e)
        x1 = b.add(f"{p}.attn.residual", "add", act, (x, o))
        xf2, rs2, n2, h2 = norm_forward(f"{p}.mlp_norm", x1)
        gate = b.add(f"{p}.mlp.gate", "mm", hid, (h2,), flops=2 * n_tok * d * ff, moved=ff * d * e)
        act_gate = b.add(f"{p}.mlp.silu", "silu", hid, (gate,))
        up = b.add(f"{p}.mlp.up", "mm", hid, (h2,), flops=2 * n_tok * d * ff, moved=ff * d * e)
        prod = b.add(f"{p}.mlp.prod", "mul", hid, (act_gate, up))
        down = b.add(f"{p}.mlp.down", "mm", act, (prod,), flops=2 * n_tok * ff * d, moved=ff * d * e)
        x2 = b.add(f"{p}.mlp.residual", "add", act, (x1, down))
        saved.append((xf1, rs1, n1, h1, qkv, ctx, lse_i, xf2, rs2, n2, h2, gate, act_gate, up, prod))
        x = x2
    xff, rsf, nf, hf = norm_forward("final_norm", x)
    head = b.add("head", "mm", logits, (hf,), flops=2 * n_tok * d * vocab, moved=vocab * d * e)
    logp = b.add("log_softmax", "_log_softmax", logits, (head,))
    loss = b.add("loss.0", "nll_loss_forward[0]", e, (logp,), moved=ids_bytes + e)
    total_weight = b.add("loss.1", "nll_loss_forward[1]", e, (logp, loss), secondary=True)

    # backward: the tangent of the loss (pinned, a scalar) and the targets are read, not graph nodes
    g_logp = b.add("loss.grad", "nll_loss_backward", logits, (logp, total_weight), moved=e + ids_bytes)
    g_head = b.add("log_softmax.grad", "_log_softmax_backward_data", logits, (logp, g_logp))
    b.add("head.grad_w", "mm", vocab * d * e, (hf, g_head), flops=2 * n_tok * d * vocab, rec=False)
    g = b.add("head.grad_in", "mm", act, (g_head,), flops=2 * n_tok * d * vocab, moved=vocab * d * e)
    g = norm_backward("final_norm", xff, rsf, nf, g, None)
    for i in reversed(range(layers)):
        p = f"L{i}"
        xf1, rs1, n1, h1, qkv, ctx, lse_i, xf2, rs2, n2, h2, gate, act_gate, up, prod = saved[i]
        m = f"{p}.mlp"
        b.add(f"{m}.grad_w_down", "mm", ff * d * e, (prod, g), flops=2 * n_tok * ff * d, rec=False)
        g_prod = b.add(f"{m}.grad_prod", "mm", hid, (g,), flops=2 * n_tok * ff * d, moved=ff * d * e)
        g_up = b.add(f"{m}.grad_up", "mul", hid, (act_gate, g_prod))
        g_act = b.add(f"{m}.grad_silu", "mul", hid, (up, g_prod))
        b.add(f"{m}.grad_w_up", "mm", ff * d * e, (h2, g_up), flops=2 * n_tok * d * ff, rec=False)
        g_h_up = b.add(f"{m}.grad_h_up", "mm", act, (g_up,), flops=2 * n_tok * d * ff, moved=ff * d * e)
        g_gate = b.add(f"{m}.grad_gate", "silu_backward", hid, (gate, g_act))
        b.add(f"{m}.grad_w_gate", "mm", ff * d * e, (h2, g_gate), flops=2 * n_tok * d * ff, rec=False)
        g_h_gate = b.add(f"{m}.grad_h_gate", "mm", act, (g_gate,), flops=2 * n_tok * d * ff, moved=ff * d * e)
        g_h2 = b.add(f"{m}.grad_h", "add", act, (g_h_up, g_h_gate))
        g1 = norm_backward(f"{p}.mlp_norm", xf2, rs2, n2, g_h2, g)
        a = f"{p}.attn"
        b.add(f"{a}.grad_w_out", "mm", d * d * e, (ctx, g1), flops=2 * n_tok * d * d, rec=False)
        g_ctx = b.add(f"{a}.grad_ctx", "mm", act, (g1,), flops=2 * n_tok * d * d, moved=d * d * e)
        reads = (qkv, ctx, lse_i, g_ctx)
        gq = b.add(f"{a}.sdpa_grad.0", "sdpa_backward[0]", act, reads, flops=attn_bwd, moved=2 * act)
        gk = b.add(f"{a}.sdpa_grad.1", "sdpa_backward[1]", act, (*reads, gq), secondary=True)
        gv = b.add(f"{a}.sdpa_grad.2", "sdpa_backward[2]", act, (*reads, gq, gk), secondary=True)
        g_qkv = b.add(f"{a}.grad_qkv", "cat", 3 * act, (gq, gk, gv))
        b.add(f"{a}.grad_w_qkv", "mm", 3 * d * d * e, (h1, g_qkv), flops=2 * n_tok * d * 3 * d, rec=False)
        g_h1 = b.add(f"{a}.grad_h", "mm", act, (g_qkv,), flops=2 * n_tok * d * 3 * d, moved=3 * d * d * e)
        g = norm_backward(f"{p}.attn_norm", xf1, rs1, n1, g_h1, g1)
    b.add("embed.grad_w", "embedding_dense_backward", vocab * d * e, (g,), moved=ids_bytes, rec=False)
    b.add("output", "output", 0, (loss,), rec=False, secondary=True)
    name = f"transformer_L{layers}_d{d}_h{heads}_s{seq}_b{batch}_v{vocab}_ff{ff}_e{e}"
    return Graph(name=name, ids=tuple(b.ids), cost=tuple(b.cost), mem=tuple(b.mem), preds=tuple(b.preds),
                 labels=tuple(b.labels), recomputable=tuple(b.rec))
