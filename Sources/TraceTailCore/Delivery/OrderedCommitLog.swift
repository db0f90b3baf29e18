import DequeModule

/// How far a stream is delivered, when its pieces are acknowledged in any order: every piece handed out is
/// registered with the position it ends at, and `committed` moves only to the end of the longest run of
/// acknowledged pieces from the start — so a checkpoint taken from it never skips an undelivered record.
///
/// Every input commits through one of these: the file input per file (positions are byte offsets), a disk queue
/// (positions are entry sequence numbers). Not thread-safe by itself: its owner keeps it under a lock.
public struct OrderedCommitLog<Position: Comparable & Sendable>: Sendable {
    /// Identifies one registered piece; tickets are handed out in order, one per registration.
    public typealias Ticket = UInt64

    private var pending = Deque<(end: Position, acknowledged: Bool)>()
    /// The ticket of `pending.first`.
    private var firstTicket: Ticket = 0
    /// Every piece before this position was acknowledged.
    public private(set) var committed: Position

    public init(committed: Position) {
        self.committed = committed
    }

    /// Registers a piece handed out, ending at `end`; its ticket is what `acknowledge` takes.
    public mutating func register(end: Position) -> Ticket {
        pending.append((end, false))
        return firstTicket + Ticket(pending.count - 1)
    }

    /// A piece that needs no acknowledgement (it held nothing to deliver): committed as soon as those before it are.
    public mutating func settle(end: Position) {
        pending.append((end, true))
        advance()
    }

    /// Marks a piece acknowledged; true when `committed` moved. A ticket that is unknown or acknowledged already
    /// changes nothing.
    @discardableResult
    public mutating func acknowledge(_ ticket: Ticket) -> Bool {
        guard ticket >= firstTicket, ticket - firstTicket < UInt64(pending.count) else { return false }
        let index = Int(ticket - firstTicket)
        guard !pending[index].acknowledged else { return false }
        pending[index].acknowledged = true
        return index == 0 && advance()
    }

    /// Whether the piece holding `position` was acknowledged (or committed): the first registered piece whose end
    /// is at or after `position` — for pieces whose end is the last position they hold, as a disk queue's sequence
    /// numbers are.
    public func isAcknowledged(_ position: Position) -> Bool {
        position <= committed || pending.first(where: { $0.end >= position })?.acknowledged == true
    }

    /// Pieces registered and not yet committed (acknowledged ones behind an unacknowledged one included).
    public var inFlight: Int { pending.count }

    /// Whether every registered piece was acknowledged.
    public var isSettled: Bool { pending.isEmpty }

    @discardableResult
    private mutating func advance() -> Bool {
        var moved = false
        while let first = pending.first, first.acknowledged {
            if first.end > committed {
                committed = first.end
                moved = true
            }
            pending.removeFirst()
            firstTicket += 1
        }
        return moved
    }
}
