"""Fire, smoke, flood and intrusion in a camera frame, zero-shot from CLIP prompts.

For each type asked for, the frame is compared (cosine, at CLIP's logit scale, softmax) with
that type's prompts and with ``NORMAL`` prompts (ordinary scenes of the same places); the
type's confidence is the probability mass on its own prompts. The evidence is the type's
closest prompt, and the reason says whether the frame is closer to it than to every normal
scene, e.g. ``image closer to 'flames in a hotel corridor' than to any normal scene
(p=0.91)``.

An alert is raised at ``ALERT_AT`` confidence or more. Severity by type and confidence
(the first row the confidence reaches):

    type       critical  high   medium  low
    fire       0.80      0.60   0.45    below
    smoke      0.90      0.70   0.50    below
    flood      0.90      0.75   0.55    below
    intrusion  -         0.80   0.60    below

Fire is critical soonest (it spreads, people sleep); intrusion is never critical from a
frame alone (a person who may be a guest).
"""

from __future__ import annotations

import numpy as np

from vision.clip_models import ClipModel

TYPES = ("fire", "smoke", "flood", "intrusion")
PROMPTS = {
    "fire": ("flames in a hotel corridor", "a fire burning in a hotel room",
             "a kitchen on fire", "bright orange flames and burning furniture"),
    "smoke": ("thick smoke filling a hallway", "grey smoke in a hotel room",
              "a corridor hazy with smoke", "smoke coming from a doorway"),
    "flood": ("a flooded hotel corridor", "water covering the floor of a room",
              "a burst pipe spraying water", "a flooded basement"),
    "intrusion": ("a masked person forcing a door open", "a burglar climbing through a window",
                  "a person breaking into a hotel room at night",
                  "someone picking a lock"),
}
NORMAL = ("an empty hotel corridor", "a tidy hotel room", "a hotel lobby with guests",
          "a clean hotel kitchen", "a quiet parking lot", "a dry basement with pipes",
          "people walking in a hotel hallway", "a laundry room with washing machines")
ALERT_AT = 0.5
SEVERITY = {  # type -> (minimum confidence, severity), first reached wins; else low
    "fire": ((0.80, "critical"), (0.60, "high"), (0.45, "medium")),
    "smoke": ((0.90, "critical"), (0.70, "high"), (0.50, "medium")),
    "flood": ((0.90, "critical"), (0.75, "high"), (0.55, "medium")),
    "intrusion": ((0.80, "high"), (0.60, "medium")),
}


def severity(kind: str, confidence: float) -> str:
    return next((level for at, level in SEVERITY[kind] if confidence >= at), "low")


class AnomalyDetector:
    def __init__(self, clip: ClipModel, alert_at: float = ALERT_AT):
        self.clip, self.alert_at = clip, alert_at

    def detect(self, picture, types: list[str] | None = None) -> list[dict]:
        """[{type, confidence, severity, alert, reason}] for each type asked for (default:
        all), most confident first."""
        return self.detect_embedding(self.clip.encode_images([picture])[0], types)

    def detect_embedding(self, embedding: np.ndarray, types: list[str] | None = None) -> list[dict]:
        kinds = list(dict.fromkeys(types or TYPES))
        unknown = set(kinds) - set(TYPES)
        if unknown:
            raise ValueError(f"unknown anomaly types {sorted(unknown)}; known: {list(TYPES)}")
        # each prompt is its own label here: the evidence names the closest one
        normal = {f"normal:{p}": [p] for p in NORMAL}
        out = []
        for kind in kinds:
            own = {f"{kind}:{p}": [p] for p in PROMPTS[kind]}
            probs = self.clip.zero_shot_embedding(embedding, {**own, **normal})
            confidence = sum(probs[k] for k in own)
            best = max(own, key=probs.get).split(":", 1)[1]
            closest_normal = max(normal, key=probs.get).split(":", 1)[1]
            if max(probs[k] for k in own) > max(probs[k] for k in normal):
                reason = f"image closer to '{best}' than to any normal scene (p={confidence:.2f})"
            else:
                reason = (f"image closer to the normal scene '{closest_normal}' than to "
                          f"'{best}' (p={confidence:.2f})")
            out.append({"type": kind, "confidence": round(float(confidence), 4),
                        "severity": severity(kind, confidence),
                        "alert": bool(confidence >= self.alert_at), "reason": reason})
        return sorted(out, key=lambda a: -a["confidence"])
