"""`NacaConfig`: sizes, neuron constants, learning parameters and every fixed-point format.

One frozen, validated object that the golden model, the RTL, the Verilog export and the cocotb
testbenches all read (through its JSON form), so that none of them can drift from the others.
Real-valued constants (leak, threshold, learning rates, ...) are stored as the user wrote them;
the integer code the hardware uses is always ``cfg.code(name)``, quantised by the named format.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Literal, get_args

from .qformat import QFormat

ModelKind = Literal["snn", "ann"]
OutputRule = Literal["accumulate", "last_step"]
OutputError = Literal["all", "mistakes"]
NiDistribution = Literal["uniform", "normal", "beta"]

#: SNN time steps T by default: a power of two, so the 1/T of the output error is a shift.
DEFAULT_TIME_STEPS = 16

#: Bits of each random byte: stochastic rounding may use at most this many.
RANDOM_BYTE_BITS = 8


def _weight_format(fan_in: int, init_codes: int = 32) -> QFormat:
    """8-bit weights whose LSB puts the initial bound 1/sqrt(fan_in) at >= ``init_codes`` codes."""
    frac = math.ceil(math.log2(init_codes * math.sqrt(fan_in)))
    return QFormat(8, frac, signed=True, rounding="half_up", overflow="sat")


@dataclass(frozen=True)
class Formats:
    """Named fixed-point formats, one per stored or computed quantity.

    Attributes
    ----------
    input:
        Pixel intensity in [0, 1) (SNN spike probability; ANN input activation).
    weight_hidden, weight_output:
        Stored synaptic weights of the two layers.
    membrane_hidden, membrane_output:
        LIF membrane potentials V (same LSB as the layer's weights; saturating).
    leak:
        The membrane decay constant alpha.
    level:
        The fixed random NI entries and the neuromodulator level n, both in [0, 1).
    modulation:
        The plasticity map f(n) in [-theta_max, theta_max].
    learning_rate:
        Learning rates (hidden and output).
    update_hidden, update_output:
        Per-neuron update values v = -lr * (modulation or error) * post factor, before they are
        multiplied by the pre-synaptic factor and stochastically rounded into the weight.
    activation:
        ANN hidden activation (tanh) and output activation (sigmoid) values.
    act_index:
        ANN lookup-table index: the pre-activation saturated to this format addresses the LUT.
    """

    input: QFormat = QFormat(8, 8, signed=False, rounding="half_up")
    weight_hidden: QFormat = QFormat(8, 8, rounding="half_up")
    weight_output: QFormat = QFormat(8, 8, rounding="half_up")
    membrane_hidden: QFormat = QFormat(16, 8)
    membrane_output: QFormat = QFormat(16, 8)
    leak: QFormat = QFormat(8, 8, signed=False, rounding="half_up")
    level: QFormat = QFormat(8, 8, signed=False)
    modulation: QFormat = QFormat(8, 6, rounding="half_up")
    learning_rate: QFormat = QFormat(16, 20, signed=False, rounding="half_up")
    update_hidden: QFormat = QFormat(24, 24, rounding="half_up")
    update_output: QFormat = QFormat(24, 24, rounding="half_up")
    activation: QFormat = QFormat(9, 8, rounding="half_up")
    act_index: QFormat = QFormat(9, 5)

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name).to_dict() for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict) -> Formats:
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown format name(s) {sorted(unknown)}; known: {sorted(names)}")
        return cls(**{k: QFormat.from_dict(v) for k, v in data.items()})


@dataclass(frozen=True)
class NacaConfig:
    """Everything that defines a NACA network and its arithmetic.

    Parameters
    ----------
    n_inputs, n_hidden, n_classes:
        Layer sizes N, H and C (C >= 2).
    model:
        ``"snn"`` (Bernoulli-encoded, LIF, T steps) or ``"ann"`` (one analog pass, LUT activation).
    time_steps:
        T, the SNN simulation window (the ANN always uses 1).
    seed:
        Seeds the initial weights, the NI matrix and every random bit of encoding and rounding.
    alpha, threshold, lens:
        LIF decay, firing threshold and surrogate window: h = [V > threshold - lens] - s(t-1).
    lr_hidden, lr_output:
        Learning rates eta of the hidden (NACA) and output (delta) rules.
    lr_halving_epochs:
        Both learning rates halve every this many epochs (0: constant). In fixed point the
        rate codes shift right by floor(epoch / lr_halving_epochs); the host reloads them.
    output_rule:
        ``"accumulate"``: dW_kj = -eta e_k sum_t h_k(t) s_j(t); ``"last_step"``: only t = T.
    output_error:
        The output error e_k (y: the one-hot label c; p: the prediction). ``"all"``: the delta
        rule's e_k = cnt_k / T - y_k, as the paper. ``"mistakes"``: e_k = g_k cnt_k / T - y_k
        with g_k = 1 only for k in {c, p} when p != c: the label is always taught, and a
        neuron's own output counts against it only in a mistake it took part in. No other
        row changes, so the classes of earlier tasks keep their weights unless they win
        wrongly, which is what matters when classes arrive one task at a time.
    lambda_inv, theta_max:
        The plasticity map f (lambda and Theta of the paper).
    ni_distribution:
        Distribution of the fixed NI matrix entries.
    mask_delta:
        Class-incremental neuron mask: neuron j is plastic and may fire only when input pixel
        floor(j*N/H) exceeds max(input) - mask_delta. ``None`` disables the mask.
    sr_bits:
        Random bits used to stochastically round each weight update (0: plain floor).
    formats:
        The fixed-point formats (:class:`Formats`).
    """

    n_inputs: int = 64
    n_hidden: int = 100
    n_classes: int = 10
    model: ModelKind = "snn"
    time_steps: int = DEFAULT_TIME_STEPS
    seed: int = 1
    alpha: float = 0.2
    threshold: float = 0.5
    lens: float = 0.5
    lr_hidden: float = 2.0**-7
    lr_output: float = 2.0**-9
    lr_halving_epochs: int = 10
    output_rule: OutputRule = "accumulate"
    output_error: OutputError = "all"
    lambda_inv: float = 0.5
    theta_max: float = 1.2
    ni_distribution: NiDistribution = "uniform"
    mask_delta: float | None = None
    sr_bits: int = 8
    formats: Formats = field(default_factory=Formats)

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def for_sizes(cls, n_inputs: int, n_hidden: int, n_classes: int, **overrides) -> NacaConfig:
        """The default config for a network size.

        Weight formats put the initial bound 1/sqrt(fan_in) at 32 codes or more. The SNN's
        learning rates (2**-7 hidden, 2**-9 output at 64 inputs) halve for every factor of 4 in
        the input count (so they scale like 1/sqrt(N), as the initial weights do).
        """
        if overrides.get("model") == "ann":
            overrides.setdefault("time_steps", 1)
            overrides.setdefault("lr_hidden", 2.0**-7)
            overrides.setdefault("lr_output", 2.0**-5)
        octaves = max(0, math.floor(math.log2(max(n_inputs, 1) / 64) / 2))
        overrides.setdefault("lr_hidden", 2.0 ** -(7 + octaves))
        overrides.setdefault("lr_output", 2.0 ** -(9 + octaves))
        w_hid = _weight_format(n_inputs)
        w_out = _weight_format(n_hidden)
        fmts = overrides.pop("formats", None) or replace(
            Formats(),
            weight_hidden=w_hid,
            weight_output=w_out,
            membrane_hidden=QFormat(16, w_hid.frac),
            membrane_output=QFormat(16, w_out.frac),
        )
        return cls(n_inputs=n_inputs, n_hidden=n_hidden, n_classes=n_classes, formats=fmts,
                   **overrides)

    def __post_init__(self) -> None:
        def need(ok: bool, name: str, allowed: str) -> None:
            if not ok:
                raise ValueError(f"NacaConfig.{name} = {getattr(self, name)!r} is invalid: "
                                 f"allowed {allowed}")

        def is_int(name: str) -> bool:
            value = getattr(self, name)
            return isinstance(value, int) and not isinstance(value, bool)

        for name, low, high in (("n_inputs", 1, 1 << 16), ("n_hidden", 1, 1 << 16),
                                ("n_classes", 2, 256), ("time_steps", 1, 255),
                                ("lr_halving_epochs", 0, 1 << 16),
                                ("seed", 0, (1 << 32) - 1)):
            need(is_int(name) and low <= getattr(self, name) <= high, name,
                 f"an integer in {low}..{high}")
        need(self.model in ("snn", "ann"), "model", "'snn' or 'ann'")
        need(self.model == "snn" or self.time_steps == 1, "time_steps", "1 for the ANN model")
        need(self.output_rule in ("accumulate", "last_step"), "output_rule",
             "'accumulate' or 'last_step'")
        need(self.output_error in get_args(OutputError), "output_error",
             " or ".join(f"'{name}'" for name in get_args(OutputError)))
        need(self.ni_distribution in ("uniform", "normal", "beta"), "ni_distribution",
             "'uniform', 'normal' or 'beta'")
        need(0.0 < self.alpha < 1.0, "alpha", "a decay factor in (0, 1)")
        need(self.threshold > 0.0, "threshold", "a positive membrane potential")
        need(0.0 <= self.lens <= self.threshold, "lens", "0 <= lens <= threshold")
        need(0.0 <= self.lr_hidden, "lr_hidden", "a non-negative learning rate")
        need(0.0 <= self.lr_output, "lr_output", "a non-negative learning rate")
        need(0.0 < self.lambda_inv < 1.0, "lambda_inv", "a level in (0, 1)")
        need(1.0 <= self.theta_max <= 2.0, "theta_max", "1 <= theta_max <= 2")
        need(self.mask_delta is None or 0.0 <= self.mask_delta <= 1.0, "mask_delta",
             "None or an intensity in [0, 1]")
        need(is_int("sr_bits") and 0 <= self.sr_bits <= RANDOM_BYTE_BITS, "sr_bits",
             f"an integer in 0..{RANDOM_BYTE_BITS}")
        self._check_formats()

    def _check_formats(self) -> None:
        f = self.formats
        if not isinstance(f, Formats):
            raise ValueError(f"NacaConfig.formats must be a Formats, not {type(f).__name__}")

        def need(ok: bool, what: str) -> None:
            if not ok:
                raise ValueError(f"NacaConfig.formats: {what}")

        for layer in ("hidden", "output"):
            w, v = getattr(f, f"weight_{layer}"), getattr(f, f"membrane_{layer}")
            need(w.signed and v.signed, f"weight_{layer} and membrane_{layer} must be signed")
            need(v.frac == w.frac, f"membrane_{layer}.frac ({v.frac}) must equal "
                 f"weight_{layer}.frac ({w.frac}): membranes sum weights")
            need(v.width >= w.width, f"membrane_{layer}.width ({v.width}) must be at least "
                 f"weight_{layer}.width ({w.width})")
            need(v.overflow == "sat", f"membrane_{layer}.overflow must be 'sat'")
            need(w.overflow == "sat", f"weight_{layer}.overflow must be 'sat'")
            threshold_code = v.quantize(self.threshold)
            need(0 < threshold_code < v.max_code,
                 f"threshold {self.threshold} is not representable in membrane_{layer} {v}")
            u = getattr(f, f"update_{layer}")
            need(u.signed, f"update_{layer} must be signed")
            need(u.frac >= w.frac, f"update_{layer}.frac ({u.frac}) must be at least "
                 f"weight_{layer}.frac ({w.frac}): updates are rounded into the weight")
        need(not f.input.signed and f.input.frac == f.input.width,
             f"input must be unsigned with frac == width (a probability in [0, 1)), not {f.input}")
        need(f.input.width <= RANDOM_BYTE_BITS,
             f"input.width ({f.input.width}) must be at most {RANDOM_BYTE_BITS}: each input "
             "spike compares the intensity with one random byte")
        need(not f.level.signed and f.level.frac == f.level.width and f.level.width <= 12,
             f"level must be unsigned, frac == width <= 12 (a table address), not {f.level}")
        need(f.modulation.signed and f.modulation.max_value >= self.theta_max,
             f"modulation {f.modulation} must be signed and hold +-theta_max ({self.theta_max})")
        need(not f.leak.signed and 0 < f.leak.quantize(self.alpha) <= f.leak.max_code,
             f"alpha {self.alpha} is not representable in leak {f.leak}")
        need(not f.learning_rate.signed, "learning_rate must be unsigned")
        stored = {"lr_hidden": self.lr_hidden, "lr_output": self.lr_output / self.time_steps}
        for name, value in stored.items():
            need(value <= f.learning_rate.max_value,
                 f"{name} {getattr(self, name)} (stored as {value:g}) exceeds the learning_rate "
                 f"format {f.learning_rate} (max {f.learning_rate.max_value:g})")
        need(f.act_index.signed and f.act_index.width <= 12,
             f"act_index must be signed and at most 12 bits (a LUT address), not {f.act_index}")
        need(f.activation.signed and f.activation.max_value >= 0.99,
             f"activation {f.activation} must be signed and reach 1.0 (tanh and sigmoid)")

    # -- integer codes of the real-valued constants --------------------------------------------
    def code(self, name: str) -> int:
        """The integer code of a real-valued constant, quantised by its format."""
        fmts = self.formats
        table = {
            "alpha": (self.alpha, fmts.leak),
            "threshold_hidden": (self.threshold, fmts.membrane_hidden),
            "threshold_output": (self.threshold, fmts.membrane_output),
            "near_threshold_hidden": (self.threshold - self.lens, fmts.membrane_hidden),
            "near_threshold_output": (self.threshold - self.lens, fmts.membrane_output),
            "lr_hidden": (self.lr_hidden, fmts.learning_rate),
            "lr_output": (self.lr_output / self.time_steps, fmts.learning_rate),
            "mask_delta": (self.mask_delta or 0.0, fmts.input),
        }
        if name not in table:
            raise KeyError(f"no constant named {name!r}; known: {sorted(table)}")
        value, fmt = table[name]
        return int(fmt.quantize(value))

    # -- derived sizes -------------------------------------------------------------------------
    @property
    def n_synapses(self) -> int:
        return self.n_inputs * self.n_hidden + self.n_hidden * self.n_classes

    def memory_bytes(self) -> dict[str, int]:
        """Bytes of on-chip storage the network needs (weights, tables, per-sample state)."""
        f = self.formats

        def nbytes(count: int, bits: int) -> int:
            return (count * bits + 7) // 8

        h, k, n, c = self.n_hidden, self.n_classes, self.n_inputs, self.n_classes
        return {
            "weight_hidden": nbytes(n * h, f.weight_hidden.width),
            "weight_output": nbytes(h * k, f.weight_output.width),
            "modulation_table": nbytes(c * h, f.modulation.width),
            "membrane": nbytes(h, f.membrane_hidden.width) + nbytes(k, f.membrane_output.width),
            "spikes_and_h": nbytes(h + k, 3),
            "last_input_spikes": nbytes(n, 1),
            "spike_counts": nbytes(k, self.time_steps.bit_length()),
            "output_correlation": (nbytes(k * h, (2 * self.time_steps).bit_length() + 1)
                                   if self.output_rule == "accumulate" else 0),
            "mask": nbytes(h, 1) if self.mask_delta is not None else 0,
        }

    # -- JSON ----------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        data = asdict(self)
        data["formats"] = self.formats.to_dict()
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: dict) -> NacaConfig:
        if not isinstance(data, dict):
            raise ValueError(f"a NACA config must be a JSON object, not {type(data).__name__}")
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(
                f"unknown NacaConfig field(s) {sorted(unknown)}; known: {sorted(names)}")
        data = dict(data)
        if "formats" in data:
            data["formats"] = Formats.from_dict(data["formats"])
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> NacaConfig:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"the NACA config is not valid JSON: {exc}") from exc
        return cls.from_dict(data)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | Path) -> NacaConfig:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"config file {path} does not exist")
        try:
            return cls.from_json(path.read_text())
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc
