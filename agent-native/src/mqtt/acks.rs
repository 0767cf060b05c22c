// SPDX-License-Identifier: Apache-2.0
// Acknowledging QoS 1 inputs only after their outputs are with the broker, in the order the
// inputs arrived (MQTT 3.1.1 and 5.0 §4.6). The twin of agent/src/mqtt/ordered-acks.ts: an
// input is done when every hold on it is released — one while it is dispatched, one per function
// batch it joined, one per QoS 1 output until the broker acknowledges that output.
use std::collections::VecDeque;

#[derive(Default)]
pub struct OrderedAcks {
    /// (packet id, holds) from the oldest unacknowledged input on.
    ring: VecDeque<(u16, u32)>,
    /// Sequence number of ring[0].
    head: u64,
}

impl OrderedAcks {
    #[cfg(test)]
    pub fn pending(&self) -> usize {
        self.ring.len()
    }

    /// A new QoS 1 input, held once (release it when dispatching is done).
    pub fn open(&mut self, packet_id: u16) -> u64 {
        self.ring.push_back((packet_id, 1));
        self.head + self.ring.len() as u64 - 1
    }

    pub fn hold(&mut self, seq: u64) {
        if let Some(slot) = seq.checked_sub(self.head).and_then(|i| self.ring.get_mut(i as usize)) {
            slot.1 += 1;
        }
    }

    /// Releases one hold; appends the packet ids now due, in order, to `due`.
    pub fn release(&mut self, seq: u64, due: &mut Vec<u16>) {
        let Some(i) = seq.checked_sub(self.head) else { return }; // from a previous connection
        let Some(slot) = self.ring.get_mut(i as usize) else { return };
        slot.1 = slot.1.saturating_sub(1);
        if i != 0 || slot.1 > 0 {
            return;
        }
        while let Some(&(id, 0)) = self.ring.front() {
            due.push(id);
            self.ring.pop_front();
            self.head += 1;
        }
    }

    /// The connection is gone: unsent acks are void, the broker will redeliver those messages.
    pub fn reset(&mut self) {
        self.head += self.ring.len() as u64;
        self.ring.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acks_go_out_in_arrival_order_once_every_hold_is_released() {
        let mut a = OrderedAcks::default();
        let mut due = Vec::new();
        let s1 = a.open(11);
        let s2 = a.open(12);
        a.hold(s1); // an output of the first input awaits its PUBACK
        a.release(s2, &mut due);
        assert!(due.is_empty(), "12 waits behind 11");
        a.release(s1, &mut due);
        assert!(due.is_empty());
        a.release(s1, &mut due);
        assert_eq!(due, vec![11, 12]);
        let s3 = a.open(13);
        a.reset();
        a.release(s3, &mut due);
        assert_eq!(due, vec![11, 12], "a void ticket sends nothing");
        assert_eq!(a.pending(), 0);
    }
}
