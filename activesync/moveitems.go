package activesync

import (
	"context"
	"strconv"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

func mover(b Backend) bool { _, ok := b.(Mover); return ok }

// maxMoves bounds one MoveItems request.
const maxMoves = 1000

// handleMoveItems answers MoveItems (MS-ASCMD 2.2.1.12).
func handleMoveItems(ctx context.Context, c *call) (*wbxml.Element, error) {
	var moves []Move
	for _, m := range c.req.All(wbxml.Move, "Move") {
		moves = append(moves, Move{
			SrcMsgID: m.ChildText(wbxml.Move, "SrcMsgId"),
			SrcFldID: m.ChildText(wbxml.Move, "SrcFldId"),
			DstFldID: m.ChildText(wbxml.Move, "DstFldId"),
		})
	}
	if len(moves) > maxMoves {
		return nil, CommandStatus(MoveStatusFailed, "too many moves in one request")
	}
	results, err := c.s.Backend.(Mover).MoveItems(ctx, c.acct, c.q.DeviceID, moves)
	if err != nil {
		return nil, err
	}
	resp := wbxml.New(wbxml.Move, "MoveItems")
	for i, m := range moves {
		r := resp.Add(wbxml.Move, "Response")
		r.AddText(wbxml.Move, "SrcMsgId", m.SrcMsgID)
		res := MoveResult{Status: MoveStatusFailed}
		if i < len(results) {
			res = results[i]
		}
		r.AddText(wbxml.Move, "Status", strconv.Itoa(res.Status))
		if res.DstMsgID != "" {
			r.AddText(wbxml.Move, "DstMsgId", res.DstMsgID)
		}
	}
	c.log.Info("items moved", "count", len(moves))
	return resp, nil
}
