"""Synthetic asynchronous video interviews with known trait scores."""

import zlib

import numpy as np
import pandas as pd
from scipy.ndimage import convolve1d
from sklearn.utils import Bunch, check_random_state

from ..traits import resolve_traits

# The 20 AUs py-feat's detectors report, on OpenFace's 0-5 intensity scale here.
AU_CODES = (
    "AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10", "AU11", "AU12",
    "AU14", "AU15", "AU17", "AU20", "AU23", "AU24", "AU25", "AU26", "AU28", "AU43",
)  # fmt: skip

# How a trait's face component raises (+) or lowers (-) the log event rate of AUs.
_FACE_LOADINGS = {
    "extraversion": {"AU06": 1.0, "AU25": 0.8, "AU26": 0.6, "AU05": 0.5, "AU02": 0.4},
    "agreeableness": {"AU12": 0.9, "AU01": 0.6, "AU04": -0.6, "AU23": -0.5},
    "neuroticism": {"AU04": 0.9, "AU15": 0.8, "AU20": 0.7, "AU24": 0.6, "AU43": 0.5},
    "emotionality": {"AU04": 0.9, "AU15": 0.8, "AU20": 0.7, "AU24": 0.6, "AU43": 0.5},
    "conscientiousness": {"AU07": 0.8, "AU17": 0.7, "AU28": -0.6, "AU10": -0.4},
    "openness": {"AU01": 0.5, "AU02": 0.7, "AU09": -0.5, "AU11": 0.4},
    "honesty_humility": {"AU14": -0.7, "AU12": 0.3, "AU10": -0.5},
}

# Sentences whose wording reveals the high (first) or low (second) pole of a trait.
_PHRASES = {
    "openness": (
        ["I love exploring new ideas and unusual art.", "Lately I taught myself to paint and to code for fun.",
         "I am curious about philosophy and other cultures.", "I enjoy imagining different ways to solve a problem.",
         "Travelling to unfamiliar places inspires me.", "I read poetry and science fiction whenever I can."],
        ["I prefer doing things the way they have always been done.", "I do not really care for art or abstract ideas.",
         "I like a fixed routine and familiar food.", "New theories mostly seem like a waste of time to me.",
         "I stick to what I already know works.", "I rarely read anything outside my field."],
    ),
    "conscientiousness": (
        ["I always plan my week in detail and finish tasks early.", "I double check every report before I send it.",
         "Deadlines matter to me and I never miss one.", "I keep my workspace tidy and my files organised.",
         "I make a checklist for every project.", "I prepared thoroughly for this interview."],
        ["I often leave things to the last minute.", "Honestly my desk is a mess and I lose things.",
         "I sometimes forget appointments.", "Plans bore me, I just improvise as I go.",
         "I did not really prepare for this.", "I tend to start projects and not finish them."],
    ),
    "extraversion": (
        ["I love meeting new people and going to parties.", "I am the one who starts conversations in a group.",
         "Talking in front of a crowd energises me.", "I organise events for my friends every weekend.",
         "I feel at home in a busy team.", "I enjoy being the centre of attention."],
        ["I prefer quiet evenings alone with a book.", "Large groups drain my energy.",
         "I usually listen rather than speak in meetings.", "I keep to myself at social events.",
         "I need time alone to recharge.", "Small talk with strangers is hard for me."],
    ),
    "agreeableness": (
        ["I always try to help my colleagues when they struggle.", "I believe most people have good intentions.",
         "I avoid conflict and look for compromise.", "I volunteer at a shelter on weekends.",
         "I care a lot about how others feel.", "I am happy to share credit with the team."],
        ["I do not hesitate to criticise people harshly.", "Most people are only out for themselves.",
         "I win arguments and I do not back down.", "Other people's problems are not my concern.",
         "I can be blunt and I do not apologise for it.", "I prefer to compete rather than cooperate."],
    ),
    "neuroticism": (
        ["I worry a lot about things going wrong.", "I get stressed easily under pressure.",
         "Small setbacks can ruin my whole day.", "I often feel anxious before meetings.",
         "My mood changes quickly.", "I lose sleep over mistakes."],
        ["I stay calm even when things go wrong.", "Pressure does not really bother me.",
         "I rarely feel anxious.", "I bounce back quickly from setbacks.",
         "My mood is steady most of the time.", "I sleep well even before big decisions."],
    ),
    "honesty_humility": (
        ["I would never take credit for someone else's work.", "Money and status do not matter much to me.",
         "I tell the truth even when it costs me.", "I do not think I deserve special treatment."],
        ["I would bend the rules if it helps me get ahead.", "I want people to see how important I am.",
         "A little flattery gets you far.", "I deserve more respect than most people."],
    ),
}
_PHRASES["emotionality"] = _PHRASES["neuroticism"]

_FILLERS = [
    "Thank you for the opportunity to apply for this position.",
    "In my last job I worked in customer service for two years.",
    "I studied business administration at university.",
    "I think this role fits my experience well.",
    "I am looking forward to hearing from you.",
    "My previous team worked on logistics and planning software.",
    "I can start next month if needed.",
    "The company's products are something I use myself.",
]

_DEFAULT_FACE_SHARE = {
    "openness": 0.0,
    "conscientiousness": 0.5,
    "extraversion": 0.5,
    "agreeableness": 0.5,
    "neuroticism": 1.0,
}


def _trait_rng(trait):
    return np.random.RandomState(zlib.crc32(trait.encode()))


def _face_loadings(traits):
    """(n_traits, n_aus) loading matrix; unknown traits get fixed pseudo-random loadings."""
    loadings = np.zeros((len(traits), len(AU_CODES)))
    for i, trait in enumerate(traits):
        known = _FACE_LOADINGS.get(trait)
        if known is None:
            rng = _trait_rng(trait)
            cols = rng.choice(len(AU_CODES), size=4, replace=False)
            loadings[i, cols] = rng.choice([-1, 1], size=4) * rng.uniform(0.5, 1.0, size=4)
        else:
            for au, weight in known.items():
                loadings[i, AU_CODES.index(au)] = weight
    return loadings


def _phrases(trait):
    if trait in _PHRASES:
        return _PHRASES[trait]
    label = trait.replace("_", " ")
    return (
        [f"People often say I am high in {label}.", f"{label.capitalize()} describes me well."],
        [f"People rarely see {label} in me.", f"{label.capitalize()} does not describe me."],
    )


def make_interviews(
    n_samples=200,
    n_frames=150,
    traits="big_five",
    face_share=None,
    fps=15.0,
    noise=1.0,
    random_state=None,
):
    """Generate synthetic asynchronous video interviews with known trait scores.

    Generating process, per sample and trait ``t`` with face share ``w_t``:

    1. Latent trait ``a_t = sqrt(w_t) * u_t + sqrt(1 - w_t) * v_t`` with ``u, v`` iid
       standard normal; ``u_t`` is the part shown in the face, ``v_t`` the part said
       in words. The score is ``clip(0.5 + 0.15 * a_t, 0, 1)`` (ChaLearn-like range).
    2. Face: for each of py-feat's 20 AUs, onsets occur per frame with a rate whose
       log is ``base + sum_t L[t, AU] * sqrt(w_t) * u_t`` (fixed, documented loadings
       ``L``: e.g. extraversion raises AU06/AU25, neuroticism AU04/AU15/AU20); each
       onset has a random peak and is smoothed by a 0.8 s bump; baseline jitter of
       scale ``0.1 * noise`` is added; intensities are clipped to OpenFace's 0-5.
    3. Words: three sentences per trait with ``w_t < 1``, each taken from the trait's
       high-pole phrases with probability ``sigmoid(2.5 * sqrt(1 - w_t) * v_t)``
       (else the low pole), plus neutral filler sentences (about ``2 * noise`` of
       them), shuffled.

    So a trait with ``w_t = 1`` is visible only in the face, ``w_t = 0`` only in the
    words, and a trait in between needs both modalities to be predicted well.

    Parameters
    ----------
    n_samples : int, default=200
        Number of interviews.
    n_frames : int, default=150
        Frames per interview (10 s at 15 fps).
    traits : str or sequence of str, default="big_five"
        Trait set or names; see :func:`skpersona.resolve_traits`.
    face_share : dict or None, default=None
        Trait -> share in [0, 1] of its latent shown in the face. Defaults:
        openness 0 (words only), neuroticism 1 (face only), the others 0.5; traits
        not listed get 0.5.
    fps : float, default=15.0
        Frame rate, used for timestamps and event durations.
    noise : float, default=1.0
        Scale of the nuisance: AU jitter and the number of filler sentences.
    random_state : int, RandomState or None, default=None
        Seed for reproducible output.

    Returns
    -------
    Bunch
        ``data``: DataFrame with ``video`` (one frame table per sample: ``frame``,
        ``timestamp``, ``AU01`` ... ``AU43``, ``attrs["au_scale"] == "0-5"``) and
        ``transcript``; ``target``: DataFrame of trait scores in [0, 1];
        ``face_share``: dict; ``frame_tables``: list; ``latent_face`` and
        ``latent_text``: DataFrames of ``sqrt(w) * u`` and ``sqrt(1 - w) * v``;
        ``DESCR``.

    Examples
    --------
    >>> from skpersona.datasets import make_interviews
    >>> d = make_interviews(n_samples=4, n_frames=30, random_state=0)
    >>> d.data.shape, d.target.shape
    ((4, 2), (4, 5))
    >>> d.data["video"][0].shape
    (30, 22)
    """
    traits = resolve_traits(traits)
    for name, value in (("n_samples", n_samples), ("n_frames", n_frames)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    if not fps > 0 or not noise >= 0:
        raise ValueError(f"fps must be > 0 and noise >= 0, got fps={fps!r}, noise={noise!r}.")
    shares = {t: _DEFAULT_FACE_SHARE.get(t, 0.5) for t in traits}
    if face_share is not None:
        unknown = set(face_share) - set(traits)
        if unknown:
            raise ValueError(f"face_share names traits not in `traits`: {sorted(unknown)}.")
        shares.update(face_share)
    w = np.array([shares[t] for t in traits], dtype=float)
    if np.any((w < 0) | (w > 1)):
        raise ValueError(f"face_share values must lie in [0, 1], got {shares}.")
    rng = check_random_state(random_state)
    n_traits, n_aus = len(traits), len(AU_CODES)

    face = np.sqrt(w) * rng.standard_normal((n_samples, n_traits))
    text = np.sqrt(1 - w) * rng.standard_normal((n_samples, n_traits))
    scores = np.clip(0.5 + 0.15 * (face + text), 0.0, 1.0)

    # Face: per-frame onset probabilities, random peaks, smoothed into bursts.
    log_rate = np.log(0.25) + face @ _face_loadings(traits)  # events per second
    p_onset = np.minimum(np.exp(log_rate) / fps, 0.5)[:, None, :]
    onsets = rng.random_sample((n_samples, n_frames, n_aus)) < p_onset
    peaks = onsets * rng.uniform(1.0, 4.0, size=onsets.shape)
    width = max(int(round(0.8 * fps)), 1)
    kernel = np.sin(np.linspace(0, np.pi, width + 2)[1:-1])
    intensity = convolve1d(peaks, kernel, axis=1, mode="constant", origin=-(width // 2))
    intensity += np.abs(rng.normal(0.0, 0.1 * noise, size=intensity.shape))
    intensity = np.clip(intensity, 0.0, 5.0)

    frame_index = np.arange(n_frames)
    tables = np.empty(n_samples, dtype=object)
    for i in range(n_samples):
        table = pd.DataFrame(intensity[i], columns=list(AU_CODES))
        table.insert(0, "timestamp", frame_index / fps)
        table.insert(0, "frame", frame_index)
        table.attrs["au_scale"] = "0-5"
        tables[i] = table

    # Words: three sentences per text-visible trait, a pole drawn from the latent.
    transcripts = []
    n_fillers = rng.poisson(2.0 * noise, size=n_samples)
    for i in range(n_samples):
        sentences = []
        for j, trait in enumerate(traits):
            if w[j] >= 1.0:
                continue
            high, low = _phrases(trait)
            p_high = 1.0 / (1.0 + np.exp(-2.5 * text[i, j]))
            for _ in range(3):
                bank = high if rng.random_sample() < p_high else low
                sentences.append(bank[rng.randint(len(bank))])
        sentences += [_FILLERS[k] for k in rng.randint(len(_FILLERS), size=n_fillers[i])]
        rng.shuffle(sentences)
        transcripts.append(" ".join(sentences))

    target = pd.DataFrame(scores, columns=list(traits))
    data = pd.DataFrame({"video": pd.Series(tables, dtype=object), "transcript": transcripts})
    return Bunch(
        data=data,
        target=target,
        face_share=dict(zip(traits, w.tolist(), strict=True)),
        frame_tables=list(tables),
        latent_face=pd.DataFrame(face, columns=list(traits)),
        latent_text=pd.DataFrame(text, columns=list(traits)),
        DESCR=make_interviews.__doc__.split("Parameters")[0].strip(),
    )
