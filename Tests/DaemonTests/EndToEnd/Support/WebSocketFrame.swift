import ProcessHarness

/// One WebSocket frame (RFC 6455 §5.2). No extension is negotiated, so the RSV bits are
/// always zero.
struct WebSocketFrame: Equatable {
    enum Opcode: UInt8 {
        case continuation = 0x0
        case text = 0x1
        case binary = 0x2
        case close = 0x8
        case ping = 0x9
        case pong = 0xA

        var isControl: Bool { rawValue & 0x8 != 0 }
    }

    var fin: Bool
    var opcode: Opcode
    var payload: [UInt8]

    init(fin: Bool = true, _ opcode: Opcode, _ payload: [UInt8]) {
        self.fin = fin
        self.opcode = opcode
        self.payload = payload
    }

    /// The frame on the wire; a client masks every frame it sends (§5.3), a server none.
    func encoded(mask: [UInt8]?) -> [UInt8] {
        var bytes: [UInt8] = [(fin ? 0x80 : 0) | opcode.rawValue]
        let maskBit: UInt8 = mask == nil ? 0 : 0x80
        switch payload.count {
        case ..<126:
            bytes.append(maskBit | UInt8(payload.count))
        case ...0xFFFF:
            bytes.append(maskBit | 126)
            bytes += [UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        default:
            bytes.append(maskBit | 127)
            bytes += (0..<8).reversed().map { UInt8((UInt64(payload.count) >> (8 * UInt64($0))) & 0xFF) }
        }
        if let mask {
            precondition(mask.count == 4)
            bytes += mask
            bytes += payload.enumerated().map { $0.element ^ mask[$0.offset & 3] }
        } else {
            bytes += payload
        }
        return bytes
    }

    /// The frame that starts at `start` in `buffer` and where the next one starts; nil while
    /// the frame is incomplete. Masked frames (what a client sends) are unmasked.
    static func decode(_ buffer: [UInt8], at start: Int = 0) throws -> (frame: WebSocketFrame, next: Int)? {
        guard buffer.count - start >= 2 else { return nil }
        let first = buffer[start], second = buffer[start + 1]
        guard first & 0x70 == 0 else { throw HarnessError("WebSocket frame with reserved bits set (no extension was negotiated)") }
        guard let opcode = Opcode(rawValue: first & 0x0F) else { throw HarnessError("WebSocket frame with unknown opcode \(first & 0x0F)") }
        let fin = first & 0x80 != 0
        var position = start + 2
        var length = UInt64(second & 0x7F)
        if length >= 126 {
            let extra = length == 126 ? 2 : 8
            guard buffer.count - position >= extra else { return nil }
            length = buffer[position..<position + extra].reduce(0) { $0 << 8 | UInt64($1) }
            position += extra
        }
        if opcode.isControl {
            guard fin, length <= 125 else { throw HarnessError("WebSocket control frame fragmented or over 125 bytes") }
        }
        guard length <= 1 << 30 else { throw HarnessError("WebSocket frame of \(length) bytes") }
        var mask: [UInt8]?
        if second & 0x80 != 0 {
            guard buffer.count - position >= 4 else { return nil }
            mask = Array(buffer[position..<position + 4])
            position += 4
        }
        guard buffer.count - position >= Int(length) else { return nil }
        var payload = Array(buffer[position..<position + Int(length)])
        if let mask {
            for index in payload.indices { payload[index] ^= mask[index & 3] }
        }
        return (WebSocketFrame(fin: fin, opcode, payload), position + Int(length))
    }
}

/// What a WebSocket peer said, once its frames are put together.
enum WebSocketMessage: Equatable {
    case text(String)
    case binary([UInt8])
    case ping([UInt8])
    case pong([UInt8])
    /// The peer's close frame: its status code, when it gave one, and reason.
    case close(code: UInt16?, reason: String)
}

/// Puts fragmented messages together (§5.4): a text or binary frame without FIN, then
/// continuation frames up to one with FIN; control frames may come in between.
struct WebSocketMessageAssembler {
    private var fragments: (opcode: WebSocketFrame.Opcode, payload: [UInt8])?

    /// The message `frame` completes, if any.
    mutating func take(_ frame: WebSocketFrame) throws -> WebSocketMessage? {
        switch frame.opcode {
        case .ping: return .ping(frame.payload)
        case .pong: return .pong(frame.payload)
        case .close:
            let code = frame.payload.count >= 2 ? UInt16(frame.payload[0]) << 8 | UInt16(frame.payload[1]) : nil
            return .close(code: code, reason: String(decoding: frame.payload.dropFirst(2), as: UTF8.self))
        case .text, .binary:
            guard fragments == nil else { throw HarnessError("WebSocket: a new message began inside a fragmented one") }
            if frame.fin { return Self.message(frame.opcode, frame.payload) }
            fragments = (frame.opcode, frame.payload)
            return nil
        case .continuation:
            guard var pending = fragments else { throw HarnessError("WebSocket: continuation frame without a message to continue") }
            pending.payload += frame.payload
            guard frame.fin else {
                fragments = pending
                return nil
            }
            fragments = nil
            return Self.message(pending.opcode, pending.payload)
        }
    }

    private static func message(_ opcode: WebSocketFrame.Opcode, _ payload: [UInt8]) -> WebSocketMessage {
        opcode == .text ? .text(String(decoding: payload, as: UTF8.self)) : .binary(payload)
    }
}
