#include "token/pcsc/context.hpp"

#include <utility>

#include "token/pcsc/pcsc_error.hpp"

namespace keyfence::token::pcsc {

base::Result<Context> Context::establish() {
    SCARDCONTEXT handle = 0;
    if (LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &handle);
        rv != SCARD_S_SUCCESS) {
        return pcsc_error(rv, "could not reach pcscd");
    }
    return Context(handle);
}

Context::Context(Context&& other) noexcept : m_handle(std::exchange(other.m_handle, 0)) {}

Context::~Context() {
    if (m_handle != 0) SCardReleaseContext(m_handle);
}

base::Result<std::vector<std::string>> Context::readers() const {
    DWORD size = 0;
    LONG rv = SCardListReaders(m_handle, nullptr, nullptr, &size);
    if (rv == SCARD_E_NO_READERS_AVAILABLE) return std::vector<std::string>{};
    if (rv != SCARD_S_SUCCESS) return pcsc_error(rv, "could not list the readers");
    std::string buffer(size, '\0');
    rv = SCardListReaders(m_handle, nullptr, buffer.data(), &size);
    if (rv == SCARD_E_NO_READERS_AVAILABLE) return std::vector<std::string>{};
    if (rv != SCARD_S_SUCCESS) return pcsc_error(rv, "could not list the readers");
    // A multi-string: names separated by NULs, ended by an empty name.
    std::vector<std::string> names;
    for (std::size_t pos = 0; pos < buffer.size() && buffer[pos] != '\0';) {
        const std::size_t end = buffer.find('\0', pos);
        names.push_back(buffer.substr(pos, end - pos));
        pos = end + 1;
    }
    return names;
}

base::Result<std::vector<ReaderState>> reader_states(const Context& context) {
    KEYFENCE_TRY_ASSIGN(names, context.readers());
    std::vector<SCARD_READERSTATE> states(names.size());
    for (std::size_t i = 0; i < names.size(); ++i) {
        states[i].szReader = names[i].c_str();
        states[i].dwCurrentState = SCARD_STATE_UNAWARE;
    }
    std::vector<ReaderState> result;
    if (names.empty()) return result;
    LONG rv =
        SCardGetStatusChange(context.handle(), 0, states.data(), static_cast<DWORD>(states.size()));
    if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT) {
        return pcsc_error(rv, "could not read the readers' state");
    }
    for (std::size_t i = 0; i < names.size(); ++i) {
        const DWORD s = states[i].dwEventState;
        ReaderState r;
        r.reader = names[i];
        r.card_present = (s & SCARD_STATE_PRESENT) != 0;
        r.in_use_exclusively = (s & SCARD_STATE_EXCLUSIVE) != 0;
        r.in_use = (s & SCARD_STATE_INUSE) != 0;
        r.atr.assign(states[i].rgbAtr, states[i].rgbAtr + states[i].cbAtr);
        result.push_back(std::move(r));
    }
    return result;
}

base::Result<CardConnection> CardConnection::connect(const Context& context,
                                                     const std::string& reader, bool exclusive) {
    SCARDHANDLE card = 0;
    DWORD protocol = 0;
    LONG rv = SCardConnect(context.handle(), reader.c_str(),
                           exclusive ? SCARD_SHARE_EXCLUSIVE : SCARD_SHARE_SHARED,
                           SCARD_PROTOCOL_T1 | SCARD_PROTOCOL_T0, &card, &protocol);
    if (rv != SCARD_S_SUCCESS) return pcsc_error(rv, "could not connect to the card in " + reader);
    return CardConnection(card, protocol, reader);
}

CardConnection::CardConnection(CardConnection&& other) noexcept
    : m_card(std::exchange(other.m_card, 0)),
      m_protocol(other.m_protocol),
      m_reader(std::move(other.m_reader)) {}

CardConnection::~CardConnection() {
    if (m_card != 0) SCardDisconnect(m_card, SCARD_LEAVE_CARD);
}

base::Result<std::vector<std::uint8_t>> CardConnection::transmit(
    std::span<const std::uint8_t> apdu) {
    const SCARD_IO_REQUEST* pci = m_protocol == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
    // Extended-length responses: up to 64 KiB of data plus SW1 SW2.
    std::vector<std::uint8_t> response(65536 + 2);
    DWORD length = static_cast<DWORD>(response.size());
    LONG rv = SCardTransmit(m_card, pci, apdu.data(), static_cast<DWORD>(apdu.size()), nullptr,
                            response.data(), &length);
    if (rv != SCARD_S_SUCCESS) return pcsc_error(rv, "the card in " + m_reader + " did not answer");
    response.resize(length);
    return response;
}

base::Status CardConnection::begin_transaction() {
    if (LONG rv = SCardBeginTransaction(m_card); rv != SCARD_S_SUCCESS) {
        return pcsc_error(rv, "could not start a transaction with the card in " + m_reader);
    }
    return {};
}

void CardConnection::end_transaction() noexcept {
    SCardEndTransaction(m_card, SCARD_LEAVE_CARD);
}

base::Status CardConnection::reconnect() {
    DWORD protocol = 0;
    LONG rv = SCardReconnect(m_card, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1 | SCARD_PROTOCOL_T0,
                             SCARD_LEAVE_CARD, &protocol);
    if (rv != SCARD_S_SUCCESS)
        return pcsc_error(rv, "could not reconnect to the card in " + m_reader);
    m_protocol = protocol;
    return {};
}

base::Result<Transaction> Transaction::begin(CardConnection& card) {
    KEYFENCE_TRY(card.begin_transaction());
    return Transaction(&card);
}

}  // namespace keyfence::token::pcsc
