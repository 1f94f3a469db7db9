"""`transit simulate`: drive the day's blocks, write the pings and their ground truth (ADAPTER).

Reads the feed with `transit.gtfs.load`, runs the pure `transit.telemetry.simulate.simulate_day`, writes
PINGS (CSV, gzip when the name ends in .gz) and PINGS.truth.csv beside it, and prints a summary. Bad input
raises BadParameter naming the option (or FeedInvalid); the main CLI turns both into exit status 2.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer

from transit.errors import BadParameter
from transit.gtfs.load import load_feed
from transit.settings import Settings
from transit.telemetry.mqtt import Publisher, parse_mqtt_url
from transit.telemetry.replay import publish_frame
from transit.telemetry.simulate import (
    FaultInvalid,
    Faults,
    Simulation,
    TimeWindow,
    parse_window,
    simulate_day,
)

RATE = "Share 0..1 of"
_OPTION = {"gps_noise_m": "--gps-noise"}  # Faults fields whose option is not "--" + field with dashes


def simulate_command(
    feed: Annotated[Path, typer.Option("--feed", help="GTFS zip or folder.")],
    date: Annotated[str, typer.Option("--date", metavar="YYYY-MM-DD", help="Service date to simulate.")],
    out: Annotated[Path, typer.Option("--out", help="Pings file: .csv, or .csv.gz; truth goes beside it.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed (0 or more).")] = 1,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between pings of a vehicle.")] = 10.0,
    miss_rate: Annotated[float, typer.Option("--miss-rate", help=f"{RATE} trips not run.")] = 0.0,
    gps_noise: Annotated[float, typer.Option("--gps-noise", help="GPS error per axis, metres (sd).")] = 5.0,
    drop_rate: Annotated[float, typer.Option("--drop-rate", help=f"{RATE} pings lost.")] = 0.0,
    silent_rate: Annotated[
        float, typer.Option("--silent-rate", help=f"{RATE} vehicles silent for 20-60% of their day.")
    ] = 0.0,
    late_start_rate: Annotated[float, typer.Option("--late-start-rate", help=f"{RATE} trips late.")] = 0.0,
    late_start_max_min: Annotated[
        float, typer.Option("--late-start-max-min", help="Longest late start, minutes (1 or more).")
    ] = 15.0,
    detour_rate: Annotated[float, typer.Option("--detour-rate", help=f"{RATE} trips detoured.")] = 0.0,
    short_turn_rate: Annotated[
        float, typer.Option("--short-turn-rate", help=f"{RATE} trips stopped at 30-70%.")
    ] = 0.0,
    deadhead_rate: Annotated[
        float, typer.Option("--deadhead-rate", help=f"{RATE} layovers run empty along another route.")
    ] = 0.0,
    swap_rate: Annotated[
        float, typer.Option("--swap-rate", help=f"{RATE} vehicles swapped mid-block.")
    ] = 0.0,
    wrong_trip_id_rate: Annotated[
        float, typer.Option("--wrong-trip-id-rate", help=f"{RATE} trips whose pings name another trip.")
    ] = 0.0,
    no_ids_rate: Annotated[
        float, typer.Option("--no-ids-rate", help=f"{RATE} vehicles sending no trip_id or route_id.")
    ] = 0.0,
    duplicate_rate: Annotated[
        float, typer.Option("--duplicate-rate", help=f"{RATE} pings sent twice.")
    ] = 0.0,
    out_of_order_rate: Annotated[
        float, typer.Option("--out-of-order-rate", help=f"{RATE} pings delivered 1-60 s late.")
    ] = 0.0,
    miss_carrier: Annotated[
        str | None, typer.Option("--miss-carrier", help="Only this carrier_id's trips are not run.")
    ] = None,
    dark_carrier: Annotated[
        str | None, typer.Option("--dark-carrier", help="A carrier_id whose whole fleet goes dark.")
    ] = None,
    dark_window: Annotated[
        str | None, typer.Option("--dark-window", metavar="HH:MM-HH:MM", help="When (default: all day).")
    ] = None,
    outage: Annotated[
        str | None, typer.Option("--outage", metavar="HH:MM-HH:MM", help="Ingest outage: no pings at all.")
    ] = None,
    publish: Annotated[
        bool, typer.Option("--publish", help="Publish the pings to TRANSIT_MQTT_URL instead of writing them.")
    ] = False,
    speed: Annotated[
        float, typer.Option("--speed", min=0, help="With --publish: times faster than real time; 0 at once.")
    ] = 60.0,
) -> None:
    """Simulate a service day's buses: write PINGS (.csv or .csv.gz) and PINGS.truth.csv beside it."""
    service_date = _parse_date(date)
    try:
        faults = Faults(
            miss_rate=miss_rate, gps_noise_m=gps_noise, drop_rate=drop_rate, silent_rate=silent_rate,
            late_start_rate=late_start_rate, late_start_max_min=late_start_max_min, detour_rate=detour_rate,
            short_turn_rate=short_turn_rate, deadhead_rate=deadhead_rate, swap_rate=swap_rate,
            wrong_trip_id_rate=wrong_trip_id_rate, no_ids_rate=no_ids_rate, duplicate_rate=duplicate_rate,
            out_of_order_rate=out_of_order_rate, dark_carrier=dark_carrier, miss_carrier=miss_carrier,
            dark_window=_window(dark_window, "dark_window"), outage=_window(outage, "outage"),
        )  # fmt: skip
        _check_numbers(seed, interval)
        truth_path = truth_path_for(out)
        _check_writable(out)
        loaded = load_feed(feed)
        _check_date(service_date, loaded.valid_from, loaded.valid_to, feed)
        simulation = simulate_day(loaded, service_date, faults, seed, interval)
    except FaultInvalid as error:
        raise BadParameter(f"{_option(error.field)}: {error.detail}") from None
    if publish:
        _publish(simulation, speed)
        write_truth(simulation.truth, truth_path)
    else:
        _write(simulation, out, truth_path)
    typer.echo(summarise(simulation, service_date, faults, out, truth_path))


def _publish(simulation: Simulation, speed: float) -> None:
    """Send the pings to the broker in their delivery order, as the buses would."""
    settings = Settings()
    publisher = Publisher(
        parse_mqtt_url(settings.broker_url()), client_id=f"transit-simulate-{time.time_ns()}"
    )
    publisher.connect()
    try:
        count = publish_frame(
            simulation.pings, publisher, settings.mqtt_topic_prefix, speed, in_given_order=True
        )
    finally:
        publisher.close()
    typer.echo(f"published {count:,} pings to {publisher.address}")


def truth_path_for(out: Path) -> Path:
    """Where the truth goes: x.csv -> x.truth.csv, x.csv.gz -> x.truth.csv, x -> x.truth.csv."""
    name = out.name
    for suffix in (".gz", ".csv"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return out.with_name(f"{name}.truth.csv")


def _parse_date(value: str) -> dt.date:
    try:
        return dt.datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise BadParameter(f"--date: {value!r} is not a date YYYY-MM-DD") from None


def _window(text: str | None, field: str) -> TimeWindow | None:
    return None if text is None else parse_window(text, field)


def _check_date(service_date: dt.date, valid_from: dt.date, valid_to: dt.date, feed: Path) -> None:
    if not valid_from <= service_date <= valid_to:
        raise BadParameter(
            f"--date: {service_date} is outside the validity of {feed} ({valid_from} to {valid_to})"
        )


def _option(field: str) -> str:
    return _OPTION.get(field, "--" + field.replace("_", "-"))


def _check_numbers(seed: int, interval: float) -> None:
    if seed < 0:
        raise BadParameter(f"--seed: must be 0 or more, got {seed}")
    if not 1.0 <= interval <= 3600.0:
        raise BadParameter(f"--interval: must be 1 to 3600 seconds, got {interval}")


def _check_writable(out: Path) -> None:
    if out.is_dir():
        raise BadParameter(f"--out: {out} is a folder; give the path of the pings file to write")
    blocker = next((p for p in out.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise BadParameter(f"--out: {blocker} is a file, not a folder")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BadParameter(
            f"--out: cannot create the folder {out.parent}: {error.strerror or error}"
        ) from None


def _write(simulation: Simulation, out: Path, truth_path: Path) -> None:
    gzipped = out.name.lower().endswith(".gz")
    compression = {"method": "gzip", "compresslevel": 1, "mtime": 0} if gzipped else None
    try:
        _as_text(simulation.pings).to_csv(out, index=False, compression=compression, lineterminator="\n")
    except OSError as error:
        raise BadParameter(
            f"--out: cannot write {error.filename or out}: {error.strerror or error}"
        ) from None
    write_truth(simulation.truth, truth_path)


def write_truth(truth: pd.DataFrame, truth_path: Path) -> None:
    """The ground truth as CSV, timestamps ISO 8601 UTC."""
    try:
        _as_text(truth).to_csv(truth_path, index=False, lineterminator="\n")
    except OSError as error:
        raise BadParameter(
            f"--out: cannot write {error.filename or truth_path}: {error.strerror or error}"
        ) from None


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with its aware timestamps as ISO 8601 UTC text ending in Z (whole seconds); NaT empty."""
    out = frame.copy(deep=False)
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.DatetimeTZDtype):
            out[column] = _iso_z(frame[column])
    return out


def _iso_z(instants: pd.Series) -> np.ndarray:
    """Each distinct second formatted once: a day of pings has far fewer seconds than pings."""
    seconds = instants.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[s]")
    unique, inverse = np.unique(seconds, return_inverse=True)
    text = np.char.add(np.datetime_as_string(unique, unit="s"), "Z").astype(object)
    text[np.isnat(unique)] = ""
    return np.asarray(text[inverse], dtype=object)


def summarise(
    simulation: Simulation, service_date: dt.date, faults: Faults, out: Path, truth_path: Path
) -> str:
    """One paragraph: faults, vehicles, pings, trip instances by what happened and by expected verdict."""
    pings, truth = simulation.pings, simulation.truth
    happened = _counts(truth, "happened")
    verdicts = _counts(truth, "expected_verdict")
    vehicles = pings["vehicle_id"].nunique() if len(pings) else 0
    return (
        f"Simulated {service_date} with {', '.join(faults.names()) or 'no faults'}: "
        f"{vehicles:,} vehicles sent {len(pings):,} pings to {out}; "
        f"{len(truth):,} trip instances ({happened or 'none'}); expected verdicts: {verdicts or 'none'}; "
        f"ground truth in {truth_path}."
    )


def _counts(truth: pd.DataFrame, column: str) -> str:
    if truth.empty:
        return ""
    counts = truth[column].value_counts()
    return ", ".join(f"{name} {int(count):,}" for name, count in counts.items())
