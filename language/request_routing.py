"""Guest-request routing: a message in Vietnamese, English or both -> category, priority,
team and the structured request (type, room number, items, quantity, urgency), with a
confidence; below ``min_confidence`` the answer says a person must look.

The classifiers are linear models on character n-grams of the accent-folded text (so "phong
khong co nuoc nong" reads like "phòng không có nước nóng", and typos share most n-grams),
word n-grams, and the message's multilingual embedding (``language.embedders``: the same
request in either language lands near), trained on the labelled messages of ``language/routing/train.jsonl``
(``language/routing/test.jsonl`` is held out for ``bench/routing.py``). The team is a function
of the category. Room number, items and quantity are extracted by rules.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from language.embedders import Embedder

CATEGORIES = ("housekeeping", "maintenance", "front_desk", "concierge", "food_beverage",
              "billing", "complaint", "emergency")
TEAMS = {"housekeeping": "housekeeping", "maintenance": "engineering",
         "front_desk": "front_office", "concierge": "concierge", "food_beverage": "fnb",
         "billing": "finance", "complaint": "guest_relations", "emergency": "security"}
MIN_CONFIDENCE = 0.55
# Chosen by 5-fold cross-validation on the training set (``bench/routing.py --cv``), never on
# the held-out set: macro-F1 0.821 at weight 2 against 0.809 at 1 and 0.811 at 3 on the 691
# messages (0.72 against 0.60 and 0.66 at 0.5 and 1 on the first 480); C hardly mattered.
EMBEDDING_WEIGHT = 2.0
C = 10.0

ROOM = re.compile(r"(?:\broom|\brm|\bphong|\bp\.|\bp|#)\s*(?:no\.?|so)?\s*#?\s*(\d{2,5})\b")
NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "a couple of": 2,
                "mot": 1, "hai": 2, "ba": 3, "bon": 4, "nam": 5, "sau": 6}
# Item names (the training set's words) and how guests write them in Vietnamese. A word is
# matched on the accent-folded text, whole (an English plural allowed: "towels"); a
# Vietnamese word written with its accents must be written with these ones ("gối" is a
# pillow, "gọi" a call; "chăn" a blanket, "chân" a foot), typed without them it is taken.
# More specific names come first and keep their words from the general ones ("beach towel"
# is not also a towel).
ITEM_WORDS = {
    "beach towel": ("beach towel", "pool towel", "khăn đi biển", "khăn hồ bơi"),
    "hand towel": ("hand towel", "khăn tay", "khăn lau tay"),
    "towel": ("towel", "khăn tắm", "khăn"), "pillowcase": ("pillowcase", "vỏ gối", "áo gối"),
    "pillow": ("pillow", "gối"),
    "blanket": ("blanket", "chăn", "mền"),
    "bed sheet": ("bed sheet", "sheet", "ga giường", "ga trải giường", "drap"),
    "toothpaste": ("toothpaste", "kem đánh răng"),
    "toothbrush": ("toothbrush", "bàn chải"), "shampoo": ("shampoo", "dầu gội"),
    "shower gel": ("shower gel",),
    "body wash": ("body wash", "sữa tắm"), "soap": ("soap", "xà phòng", "xà bông"),
    "toilet paper": ("toilet paper", "giấy vệ sinh"), "slippers": ("slipper", "dép"),
    "bathrobe": ("bathrobe", "robe", "áo choàng tắm", "áo choàng"),
    "hair dryer": ("hair dryer", "hairdryer", "máy sấy tóc", "máy sấy"),
    "bottled water": ("bottled water", "water bottle", "nước suối", "chai nước"),
    "key card": ("key card", "keycard", "thẻ phòng", "thẻ từ"),
    "baby cot": ("baby cot", "cot", "crib", "nôi", "cũi"),
    "extra bed": ("extra bed", "giường phụ"), "ironing board": ("ironing board",),
    "iron": ("iron", "bàn ủi", "bàn là"), "hanger": ("hanger", "móc áo", "móc treo"),
    "umbrella": ("umbrella", "cái ô", "chiếc ô", "cây dù", "cái dù"),
    "kettle": ("kettle", "ấm siêu tốc", "ấm đun nước"),
    "power adapter": ("adapter", "adaptor", "cục chuyển đổi", "ổ chuyển đổi"),
    "mosquito repellent": ("mosquito repellent", "repellent", "thuốc chống muỗi"),
    "phone charger": ("charger", "sạc"), "remote control": ("remote", "điều khiển"),
    "light bulb": ("light bulb", "bóng đèn"), "beer": ("beer", "bia"), "coffee": ("coffee", "cà phê"),
}
_SHAPES = str.maketrans("đĐ", "dD")


def _letters(text: str) -> str:
    """Each character of ``text`` (lower case, NFC) without its diacritics, one for one, so
    that a position in the folded text is the same position in the text."""
    text = unicodedata.normalize("NFC", text.lower())
    return "".join(unicodedata.normalize("NFKD", c)[0] if c.isalpha() else c
                   for c in text.translate(_SHAPES))


def fold(text: str) -> str:
    """Lower case without diacritics (đ -> d): how a third of the guests type anyway."""
    text = unicodedata.normalize("NFKD", text.lower().replace("đ", "d"))
    return "".join(c for c in text if not unicodedata.combining(c))


_ITEM_PATTERNS = [
    (item, [(word, fold(word), re.compile(rf"\b{re.escape(fold(word))}(?:s|es)?\b"))
            for word in words])
    for item, words in ITEM_WORDS.items()]


def extract(text: str) -> dict:
    """Room number, items and quantity written in the message (rules)."""
    folded = fold(text)
    room = ROOM.search(folded)
    written = unicodedata.normalize("NFC", text.lower())
    letters = _letters(text)  # folded, position for position with ``written``
    items, quantity, taken = [], None, []
    for item, words in _ITEM_PATTERNS:
        for word, plain, pattern in words:
            m = next((m for m in pattern.finditer(letters)
                      if not any(a < m.end() and m.start() < b for a, b in taken)
                      and (written[m.start():m.start() + len(plain)] == plain  # no accents
                           or written[m.start():m.start() + len(plain)] == word)), None)
            if m:
                items.append(item)
                taken.append(m.span())
                # a count just before the item: "2 more bath towels", "them 2 cai khan"
                before = re.findall(rf"(?<!\d)(\d{{1,2}})\b|\b({'|'.join(NUMBER_WORDS)})\b",
                                    letters[max(0, m.start() - 25):m.start()])
                if quantity is None and before:
                    digits, word_number = before[-1]
                    quantity = int(digits) if digits else NUMBER_WORDS[word_number]
                break
    return {"room_number": room.group(1) if room else None, "items": items, "quantity": quantity}


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()
            if line.strip()]


@dataclass
class RequestRouter:
    words: object  # the fitted character + word n-gram vectoriser
    embedder: Embedder
    category: object  # classifiers on [n-grams, embedding]
    priority: object
    request_type: object
    min_confidence: float = MIN_CONFIDENCE

    @staticmethod
    def _vectoriser():
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import make_union

        return make_union(
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                            preprocessor=fold),
            TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True,
                            preprocessor=fold, token_pattern=r"(?u)\b\w+\b"))

    def _features(self, texts: list[str]):
        from scipy.sparse import csr_matrix, hstack

        return hstack([self.words.transform(texts),
                       csr_matrix(self.embedder.queries(texts) * EMBEDDING_WEIGHT)]).tocsr()

    @classmethod
    def train(cls, messages: list[dict], embedder: Embedder,
              min_confidence: float = MIN_CONFIDENCE) -> "RequestRouter":
        from sklearn.linear_model import LogisticRegression

        texts = [m["text"] for m in messages]
        router = cls(cls._vectoriser().fit(texts), embedder, None, None, None, min_confidence)
        x = router._features(texts)

        def fit(labels):
            return LogisticRegression(C=C, max_iter=3000, class_weight="balanced").fit(x, labels)

        router.category = fit([m["category"] for m in messages])
        router.priority = fit([m["priority"] for m in messages])
        router.request_type = fit([m["request"]["type"] for m in messages])
        return router

    @classmethod
    def from_file(cls, path: Path, embedder: Embedder,
                  min_confidence: float = MIN_CONFIDENCE) -> "RequestRouter":
        return cls.train(load(path), embedder, min_confidence)

    def likeliest(self, text: str, n: int = 2) -> list[str]:
        """The ``n`` likeliest categories of ``text``, likeliest first."""
        probabilities = self.category.predict_proba(self._features([text]))[0]
        return [str(self.category.classes_[i]) for i in probabilities.argsort()[::-1][:n]]

    def classify(self, text: str) -> dict:
        """{category, confidence, priority, team, request{type, room_number, items, quantity,
        urgency}, needs_human, reason}."""
        x = self._features([text])
        probabilities = self.category.predict_proba(x)[0]
        best = int(probabilities.argmax())
        category, confidence = str(self.category.classes_[best]), float(probabilities[best])
        priority = str(self.priority.predict(x)[0])
        if category == "emergency":
            priority = "urgent"  # never downgraded by the priority model
        needs_human = confidence < self.min_confidence
        return {"category": category, "confidence": round(confidence, 4), "priority": priority,
                "team": TEAMS[category],
                "request": {"type": str(self.request_type.predict(x)[0]), **extract(text),
                            "urgency": priority},
                "needs_human": needs_human,
                "reason": (f"confidence {confidence:.2f} below {self.min_confidence:.2f}: a person "
                           "should read it" if needs_human else None)}
