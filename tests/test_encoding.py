"""Loss-mask audits on both stand-in tokenizers: exactly the assistant turns are trained."""

import pytest
from conftest import WEATHER_TRAINED_SPANS

from toolcall.encoding import encode_rendered, show_mask, trained_segments
from toolcall.families import all_families
from toolcall.standins import train_tokenizer

FAMILIES = all_families()


@pytest.fixture(scope="module")
def tokenizers():
    corpus = (FAMILIES["glm4"].render([], [{"role": "user", "content": "你好，北京天气怎么样？"}]).text,
              '{"city": "北京", "days": 1} get_weather 上海 广州 华氏度 摄氏度')
    return {name: train_tokenizer(list(corpus) * 5, fam, vocab_size=600, checkpoint=fam.base)
            for name, fam in FAMILIES.items()}




@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_trained_tokens_decode_to_exactly_the_assistant_turns(family, tokenizers,
                                                              weather_conversation):
    tokenizer = tokenizers[family]
    rendered = FAMILIES[family].render(*weather_conversation)
    encoded = encode_rendered(rendered, tokenizer)
    assert tokenizer.decode(encoded.input_ids) == rendered.text  # one tokenization, lossless
    assert trained_segments(encoded.input_ids, encoded.assistant_masks, tokenizer) == \
        WEATHER_TRAINED_SPANS[family]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_untrained_parts_are_prompt_tools_users_and_results(family, tokenizers,
                                                            weather_conversation):
    tokenizer = tokenizers[family]
    encoded = encode_rendered(FAMILIES[family].render(*weather_conversation), tokenizer)
    shown = show_mask(encoded.input_ids, encoded.assistant_masks, tokenizer)
    untrained = "".join(part.split("⟧")[0] for part in shown.split("⟦")[1:])
    for text in ("查询天气", "北京天气？", '{"temp": 3}', '{"temp": 70}', "上海和广州呢？"):
        assert text in untrained
    # role tokens that open a turn are not trained; the tokens that end a call turn are
    trained = "".join(part.split("⟦")[0] for part in shown.split("⟧"))
    assert sum(trained.count(stop) for stop in FAMILIES[family].stop_tokens) >= 4


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_stop_tokens_and_role_tokens_are_single_special_tokens(family, tokenizers):
    tokenizer = tokenizers[family]
    for token in FAMILIES[family].special_tokens:
        assert len(tokenizer(token, add_special_tokens=False)["input_ids"]) == 1, token


def test_tokenizer_training_does_not_depend_on_hash_order(tokenizers):
    """The byte alphabet arrives in a per-process random order; ids follow sorted order."""
    from tokenizers import pre_tokenizers

    tokenizer = tokenizers["glm4"]
    ids = [tokenizer.convert_tokens_to_ids(c) for c in sorted(pre_tokenizers.ByteLevel.alphabet())]
    assert ids == sorted(ids)
