#!/usr/bin/env python3
"""Write the sample notebook and its Jupyter checkpoint copy that the TruffleHog reports here scanned.

The credential is AWS's documented example key pair (docs.aws.amazon.com, "Managing access keys"):
access key id AKIAIOSFODNN7EXAMPLE, secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY. It has never
been a live credential. Usage: python make_notebook.py DIR  (writes DIR/notebooks/...).
"""

import json
import sys
from pathlib import Path

KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

NOTEBOOK = {
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Churn model\n"]},
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": 1,
            "source": [
                "import boto3\n",
                f"session = boto3.Session(aws_access_key_id='{KEY_ID}',\n",
                f"                        aws_secret_access_key='{SECRET_KEY}')\n",
            ],
            "outputs": [],
        },
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": 2,
            "source": ["import os\n", "print(os.environ['AWS_ACCESS_KEY_ID'])\n"],
            "outputs": [{"output_type": "stream", "name": "stdout", "text": [f"{KEY_ID}\n"]}],
        },
    ],
    "metadata": {},
    "nbformat": 4,
    "nbformat_minor": 5,
}


def main(target: Path) -> None:
    folder = target / "notebooks"
    (folder / ".ipynb_checkpoints").mkdir(parents=True, exist_ok=True)
    text = json.dumps(NOTEBOOK, indent=1) + "\n"
    (folder / "churn.ipynb").write_text(text)
    (folder / ".ipynb_checkpoints" / "churn-checkpoint.ipynb").write_text(text)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
