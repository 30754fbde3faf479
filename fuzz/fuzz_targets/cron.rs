//! The sync-window cron dialect: parse a schedule, then look for its next and previous
//! times around a point taken from the input. No panic, no endless search.
#![no_main]

use eso_core::testing::CronSchedule;
use jiff::Timestamp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let (secs, text) = data.split_at(4);
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let Ok(schedule) = text.parse::<CronSchedule>() else {
        return;
    };
    let secs = i64::from(u32::from_le_bytes([secs[0], secs[1], secs[2], secs[3]]));
    let Ok(at) = Timestamp::from_second(secs) else {
        return;
    };
    if let Some(next) = schedule.next_at_or_after(at) {
        assert!(next >= at, "{text:?}: next {next} before {at}");
    }
    if let Some(prev) = schedule.prev_at_or_before(at) {
        assert!(prev <= at, "{text:?}: previous {prev} after {at}");
    }
});
