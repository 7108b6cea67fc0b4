"""What the model-file scanners (ModelScan, picklescan, fickling) share: rules, severities, formats.

A model file is a finding's location; the rule is the unsafe global (``module.operator``), so the same
operator in the same file is one finding whichever run saw it again.
"""

from __future__ import annotations

from .base import Category, FindingRecord, Severity
from .common import clip

# Extensions whose files are pickles (or containers of pickles) and run code when loaded.
PICKLE_SUFFIXES = (".pkl", ".pickle", ".pt", ".pth", ".bin", ".ckpt", ".joblib", ".dill", ".npy", ".npz")
UNSAFE_FORMAT_RULE = "unsafe-serialization-format"
ATLAS_UNSAFE_ARTIFACT = "AML.T0011.000"  # User Execution: Unsafe AI Artifacts


def operator_record(
    *,
    module: str,
    operator: str,
    path: str,
    severity: str,
    target: str,
    tool: str,
    detail: str = "",
) -> FindingRecord:
    rule = f"{module}.{operator}" if module and operator else module or operator or "unknown-global"
    where = path or "the scanned model file"
    return FindingRecord(
        category=Category.MODEL_FILE,
        rule_id=clip(rule, 300),
        title=clip(f"Unsafe global {rule} in {where}", 500),
        severity=severity,
        package=clip(module, 300),
        location=clip(path, 1000),
        target=target,
        description="\n".join(
            line
            for line in (
                f"{tool} found the global {rule} in {where}: loading this file runs it "
                "(arbitrary code execution when the model is deserialized).",
                detail,
                f"MITRE ATLAS {ATLAS_UNSAFE_ARTIFACT} (Unsafe AI Artifacts). Re-export the weights as "
                "safetensors (or another format that holds only tensors), or load with weights_only=True.",
            )
            if line
        ),
    )


def unsafe_format_record(*, path: str, target: str, tool: str) -> FindingRecord:
    return FindingRecord(
        category=Category.MODEL_FILE,
        rule_id=UNSAFE_FORMAT_RULE,
        title=clip(f"Model stored in an unsafe serialization format (pickle): {path}", 500),
        severity=Severity.LOW,
        location=clip(path, 1000),
        target=target,
        description=(
            f"{tool} scanned {path}, a pickle-based file. It showed no unsafe global this time, but "
            "pickle can run code on load; prefer safetensors. "
            f"MITRE ATLAS {ATLAS_UNSAFE_ARTIFACT} (Unsafe AI Artifacts)."
        ),
    )


def is_pickle_path(path: str) -> bool:
    return path.lower().endswith(PICKLE_SUFFIXES)
