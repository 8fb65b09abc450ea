"""The reference backend: runs each equation's numpy implementation in order.

It is the oracle every other backend is tested against, so it stays simple: no
fusion, no buffer reuse, one ``impl`` call per equation.
"""

from __future__ import annotations

import numpy as np

from functorch_lite.ir import ClosedJaxpr, Literal


class NumpyBackend:
    name = "numpy"
    device = "cpu"

    def compile(self, closed: ClosedJaxpr):
        """A callable running ``closed`` on concrete arrays, returning a list of outputs."""
        jaxpr = closed.jaxpr
        slots: dict[int, int] = {}

        def slot(v):
            if id(v) not in slots:
                slots[id(v)] = len(slots)
            return slots[id(v)]

        const_slots = [slot(v) for v in jaxpr.constvars]
        in_slots = [slot(v) for v in jaxpr.invars]
        program = []
        for e in jaxpr.eqns:
            ins = [("lit", v.val) if isinstance(v, Literal) else ("var", slot(v))
                   for v in e.invars]
            outs = [slot(v) for v in e.outvars]
            program.append([e.prim.impl, e.params, ins, outs, e.prim.multiple_results, ()])
        out_refs = [("lit", v.val) if isinstance(v, Literal) else ("var", slot(v))
                    for v in jaxpr.outvars]
        # free each intermediate after its last use, so numpy can recycle the memory
        # (fresh pages cost more than the arithmetic on them)
        keep = {i for k, i in out_refs if k == "var"}
        last: dict[int, int] = {}
        for n_eq, (_, _, ins, _, _, _) in enumerate(program):
            for k, i in ins:
                if k == "var":
                    last[i] = n_eq
        for s_, n_eq in last.items():
            if s_ not in keep:
                program[n_eq][5] += (s_,)
        consts = list(closed.consts)
        n = len(slots)

        def run(*args):
            env = [None] * n
            for s, c in zip(const_slots, consts):
                env[s] = c
            for s, a in zip(in_slots, args):
                env[s] = a
            for impl, params, ins, outs, multi, dead in program:
                vals = [env[i] if k == "var" else i for k, i in ins]
                res = impl(*vals, **params)
                del vals
                for d in dead:
                    env[d] = None
                if multi:
                    for s, r in zip(outs, res):
                        env[s] = r
                else:
                    env[outs[0]] = res
            return [np.asarray(env[i]) if k == "var" else np.asarray(i) for k, i in out_refs]

        return run

    def lower_text(self, closed: ClosedJaxpr, name: str = "main") -> str:
        """The numpy backend interprets the IR directly, so its 'source' is the IR."""
        return f"# numpy reference backend: program `{name}`\n{closed}"


BACKEND = NumpyBackend()
