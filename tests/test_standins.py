"""The stand-ins ship what the real checkpoints ship (toolcall/families/ Family.base/.chat):
the tests then exercise the real-path code on them."""

import pytest
from conftest import tiny_params
from transformers import AutoTokenizer, GenerationConfig

from toolcall.families import all_families
from toolcall.standins import build_standin

FAMILIES = all_families()

SHAPE = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
         "num_key_value_heads": 1, "intermediate_size": 64, "max_position_embeddings": 256}


@pytest.mark.parametrize(("key", "family"), [("glm4-9b", "glm4"), ("qwen2_5-7b", "qwen2_5")])
def test_base_standins_ship_what_the_real_bases_ship(tiny_project, key, family):
    base = tiny_project / "models" / key / "base"
    fam = FAMILIES[family]
    tokenizer = AutoTokenizer.from_pretrained(base)
    generation = GenerationConfig.from_pretrained(base)
    assert generation.eos_token_id == tokenizer.convert_tokens_to_ids(fam.base.eos_tokens)
    assert tokenizer.eos_token == fam.base.eos_token and not generation.do_sample
    assert (tokenizer.chat_template is not None) == fam.base.ships_chat_template
    prefix = tokenizer.convert_tokens_to_ids(fam.tokenizer_prefix)
    with_special = tokenizer("你好", add_special_tokens=True)["input_ids"]
    plain = tokenizer("你好", add_special_tokens=False)["input_ids"]
    assert with_special == prefix + plain  # GLM-4 -hf prepends [gMASK]<sop>, Qwen nothing


def test_qwen_chat_standin_ships_the_instruct_sampling_defaults(tmp_path):
    fam = FAMILIES["qwen2_5"]
    texts = [fam.render([], [{"role": "user", "content": "你好"},
                              {"role": "assistant", "content": "你好！"}]).text] * 20
    settings = {**tiny_params()["standin"], "pretrain_steps": 0}
    build_standin(fam, texts, texts, SHAPE, settings, tmp_path, fam.chat)
    generation = GenerationConfig.from_pretrained(tmp_path)
    tokenizer = AutoTokenizer.from_pretrained(tmp_path)
    assert generation.eos_token_id == tokenizer.convert_tokens_to_ids(["<|im_end|>", "<|endoftext|>"])
    assert (generation.do_sample, generation.repetition_penalty, generation.temperature,
            generation.top_p, generation.top_k) == (True, 1.05, 0.7, 0.8, 20)
    assert tokenizer.eos_token == "<|im_end|>"
