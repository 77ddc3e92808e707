"""A natural logarithm that compiled loops can vectorise.

NumPy's float64 ``log`` is vectorised only on CPUs with AVX-512; elsewhere (AVX2
machines, most laptops) it calls the scalar libm routine, about 20 cycles an
entry, which made the logarithm in the KL loss cost more than the matrix
products of a whole MU iteration. numba calls the same scalar routine.

:func:`log_normal` is fdlibm's ``log`` algorithm (argument reduction to
[√½, √2), then a degree-14 minimax polynomial in s = f / (2 + f)) written with
integer views of the float bits, so that LLVM can vectorise a loop over it. It is
exact to a few units in the last place for positive normal numbers; callers send
other values (zero, subnormal, inf) to ``math.log`` (see :func:`outside_domain`).
"""

from __future__ import annotations

import numpy as np
from numba.core import types
from numba.extending import intrinsic

from nmfcore.utils.compile_cache import cached_njit

# fdlibm e_log.c
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_LG1 = 6.666666666666735130e-01
_LG2 = 3.999999999940941908e-01
_LG3 = 2.857142874366239149e-01
_LG4 = 2.222219843214978396e-01
_LG5 = 1.818357216161805012e-01
_LG6 = 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01

_SQRT_HALF_BITS = 0x3FE6A09E667F3BCD  # bits of √½ (rounded)
_ONE_MINUS_SQRT_HALF_BITS = 0x3FF0000000000000 - _SQRT_HALF_BITS
_MANTISSA = 0x000FFFFFFFFFFFFF

TINY = 2.2250738585072014e-308  # smallest positive normal float64
HUGE = 1.7976931348623157e308


def _bitcast(source, target):
    """An intrinsic that reinterprets the bits of a ``source`` scalar as a ``target`` (LLVM bitcast)."""

    @intrinsic
    def cast(typingctx, x):
        if x != source:
            return None

        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], context.get_value_type(target))

        return target(source), codegen

    return cast


_float_bits = _bitcast(types.float64, types.int64)
_bits_float = _bitcast(types.int64, types.float64)


@cached_njit(inline="always")
def outside_domain(x):  # pragma: no cover - compiled
    """True where ``x`` is zero, subnormal or infinite (outside :func:`log_normal`'s domain).

    Callers must compile without the "ninf" fast-math flag, which would fold the test away.
    """
    return (x < TINY) | (x > HUGE)


@cached_njit(inline="always")
def log_normal(x):  # pragma: no cover - compiled
    """log(x) for a positive normal float64 ``x``; any finite value elsewhere."""
    u = _float_bits(x) + _ONE_MINUS_SQRT_HALF_BITS
    # exponent of x / √½, converted through int32: AVX2 has no int64 -> float64 instruction
    k = np.float64(np.int32((u >> 52) - 1023))
    z = _bits_float((u & _MANTISSA) + _SQRT_HALF_BITS)  # in [√½, √2)
    f = z - 1.0
    hfsq = 0.5 * f * f
    s = f / (2.0 + f)
    z2 = s * s
    w = z2 * z2
    t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
    t2 = z2 * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
    return k * _LN2_HI - ((hfsq - (s * (hfsq + t1 + t2) + k * _LN2_LO)) - f)
