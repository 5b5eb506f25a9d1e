"""chat: talk to a fine-tuned model with your own tools, in the terminal.

    python -m stages.chat --model glm4-9b --tools tools.json

Loads models/<model>/base + models/<model>/adapter (or --base/--adapter/--family for any
checkpoint, e.g. an export). Replies stream; a tool call is shown as a call and you type
the tool's result (or `mock` for a made-up one). `/reset` clears the conversation,
`/exit` or Ctrl-D quits. Not a pipeline stage: nothing is written.
"""

from __future__ import annotations

import argparse
import sys
import warnings

from toolcall.chat import load_tool_model, load_tools, run_conversation
from toolcall.io import run_stage


def quiet_loading() -> None:
    """No library chatter before the prompt: PEFT's FutureWarnings and the weights-loading
    bar are about the libraries, nothing the person chatting can act on."""
    from transformers.utils import logging as transformers_logging  # noqa: PLC0415

    warnings.filterwarnings("ignore", category=FutureWarning)
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a key under models: in params.yaml")
    parser.add_argument("--base", help="a checkpoint folder instead of --model")
    parser.add_argument("--adapter", help="a LoRA adapter folder to apply to --base")
    parser.add_argument("--family", help="the template family of --base (glm4, qwen2_5, ...: "
                        "the modules of toolcall/families/)")
    parser.add_argument("--tools", help="JSON list of tools (OpenAI schemas or glaive's form)")
    parser.add_argument("--max-new-tokens", type=int, default=512)
    args = parser.parse_args()
    tools = load_tools(args.tools) if args.tools else []  # a bad file fails before minutes of loading
    quiet_loading()
    tool_model = load_tool_model(args.model, base=args.base, adapter=args.adapter,
                                 family=args.family)
    names = ", ".join(t["function"]["name"] for t in tools) or "none"
    print(f"{tool_model.family.name} model ready: {tool_model.weights}; tools: {names}. "
          "/reset clears, /exit quits.")

    def show(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    run_conversation(tool_model, tools, input, show, args.max_new_tokens)


if __name__ == "__main__":
    run_stage(main)
