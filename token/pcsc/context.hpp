#pragma once
// A PC/SC context and its readers; one card connection with short transactions.

#include <PCSC/winscard.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace keyfence::token::pcsc {

/// A connection to pcscd (SCardEstablishContext), released on destruction. Move-only.
class Context {
  public:
    static base::Result<Context> establish();
    Context(Context&& other) noexcept;
    Context& operator=(Context&&) = delete;
    Context(const Context&) = delete;  // one release per context
    Context& operator=(const Context&) = delete;
    ~Context();

    SCARDCONTEXT handle() const noexcept { return m_handle; }
    /// The readers pcscd knows now; an empty list when there are none (not an error).
    base::Result<std::vector<std::string>> readers() const;

  private:
    explicit Context(SCARDCONTEXT handle) : m_handle(handle) {}
    SCARDCONTEXT m_handle = 0;
};

struct ReaderState {
    std::string reader;
    bool card_present = false;
    bool in_use_exclusively = false;  ///< SCARD_STATE_EXCLUSIVE: another process holds it
    bool in_use = false;              ///< SCARD_STATE_INUSE
    std::vector<std::uint8_t> atr;
};

/// The state of every reader now (SCardGetStatusChange with a zero timeout).
base::Result<std::vector<ReaderState>> reader_states(const Context& context);

/// A shared T=1 connection to the card in one reader (SCardConnect), left in place on
/// destruction (SCARD_LEAVE_CARD: other programs keep their state). Move-only.
class CardConnection {
  public:
    /// `exclusive`: SCARD_SHARE_EXCLUSIVE, no other program may connect while this one is
    /// open (a PIN session holds the card verified); SCARD_E_SHARING_VIOLATION when another
    /// program is connected now.
    static base::Result<CardConnection> connect(const Context& context, const std::string& reader,
                                                bool exclusive = false);
    CardConnection(CardConnection&& other) noexcept;
    CardConnection& operator=(CardConnection&&) = delete;
    CardConnection(const CardConnection&) = delete;  // one disconnect per connection
    CardConnection& operator=(const CardConnection&) = delete;
    ~CardConnection();

    const std::string& reader() const noexcept { return m_reader; }

    /// Sends one APDU and returns the raw response (data and SW1 SW2). Errors: TokenRemoved
    /// when the card went away or was reset (its PIN state is then lost).
    base::Result<std::vector<std::uint8_t>> transmit(std::span<const std::uint8_t> apdu);
    /// Begins/ends an exclusive transaction; keep it short: PIN, VERIFY and the operation.
    base::Status begin_transaction();
    void end_transaction() noexcept;
    /// Reconnects after a reset (SCardReconnect); the caller re-selects the application.
    base::Status reconnect();

  private:
    CardConnection(SCARDHANDLE card, DWORD protocol, std::string reader)
        : m_card(card), m_protocol(protocol), m_reader(std::move(reader)) {}
    SCARDHANDLE m_card = 0;
    DWORD m_protocol = 0;
    std::string m_reader;
};

/// Holds a card transaction for its lifetime.
class Transaction {
  public:
    static base::Result<Transaction> begin(CardConnection& card);
    Transaction(Transaction&& other) noexcept : m_card(std::exchange(other.m_card, nullptr)) {}
    Transaction& operator=(Transaction&&) = delete;
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    ~Transaction() {
        if (m_card != nullptr) m_card->end_transaction();
    }

  private:
    explicit Transaction(CardConnection* card) : m_card(card) {}
    CardConnection* m_card;
};

}  // namespace keyfence::token::pcsc
