"""Daily's room properties as data: what a key missing from a room's `config` means, and
limits. Shared by the model, the adapter and the emulator, and free of pydantic, httpx
and starlette so that any of them can load it cheaply (the closed value lists are the
model's Literal types).

Daily's `GET /rooms/{name}` returns in `config` only the properties whose value differs
from the default (docs/providers/daily.md, "What GET returns"). `ABSENT_MEANS` is how the
reconciler reads a missing key: the documented default, or, for a property the domain
can set, the domain's documented default (a domain left at its defaults). None stands
for "not set".
"""

from __future__ import annotations

from typing import Any

DEFAULT_PRIVACY = "public"

NAME_PATTERN = r"^[A-Za-z0-9_-]+$"
NAME_MAX = 128  # U6: the newer pages' limit (older ones: domain + name <= 41)
OLD_NAME_BUDGET = 41  # U6: the older pages' limit on domain and name together
PARTICIPANT_CAP = 200  # U11: above this only after contacting Daily
HOOK_MAX = 255
TEMPLATE_MAX = 1024
EPOCH_TAG = "{epoch_time}"

# A missing `config` key, read as this (U5). Unset properties read as None.
ABSENT_MEANS: dict[str, Any] = {
    "max_participants": PARTICIPANT_CAP,
    # Prebuilt flags the domain also sets: its documented defaults
    "enable_people_ui": True,
    "enable_pip_ui": False,
    "enable_emoji_reactions": False,
    "enable_hand_raising": False,
    "enable_prejoin_ui": True,
    "enable_live_captions_ui": False,
    "enable_network_ui": False,
    "enable_noise_cancellation_ui": True,
    "enable_breakout_rooms": False,
    "enable_knocking": False,
    "enable_screenshare": True,
    "enable_video_processing_ui": True,
    "enable_chat": False,
    "enable_shared_chat_history": True,
    "start_video_off": False,
    "start_audio_off": False,
    "owner_only_broadcast": False,
    "eject_at_room_exp": False,
    "enable_advanced_chat": False,
    "enable_hidden_participants": False,
    "enable_mesh_sfu": False,
    "sfu_switchover": 0.5,
    "enable_adaptive_simulcast": True,
    "enable_multiparty_adaptive_simulcast": False,
    "enforce_unique_user_ids": False,
    "experimental_optimize_large_calls": False,
    "lang": "en",
    "disable_rtmp_geo_fallback": False,
    "enable_terse_logging": False,
    "enable_transcription_storage": False,
    "enable_dialout": False,
    "enable_cpu_warning_notifications": False,
}

# Properties with no default value: absent means not set.
UNSET_WHEN_ABSENT = ("nbf", "exp", "enable_recording", "eject_after_elapsed",
                     "meeting_join_hook", "geo", "rtmp_geo", "recordings_bucket",
                     "auto_transcription_settings", "transcription_bucket",
                     "recordings_template", "transcription_template", "dialout_config",
                     "streaming_endpoints", "permissions")

# Keys Daily is seen to accept or return beyond the documented table (daily.md section 3,
# "also seen"): the emulator takes them, the model does not declare them, the adapter
# ignores them in answers.
ALSO_SEEN = ("enable_cpu_warning_notifications", "sip", "sip_uri", "autojoin",
             "signaling_impl")
