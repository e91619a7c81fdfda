import { z } from 'zod';
import { ACCOUNT_ID } from '../features/transfer-event.ts';
import { reportedUnder } from './validation.ts';

/** `:id` of the account and transfer routes: an id as the transfer event takes it, named `params.id` when bad. */
export const AccountParams = reportedUnder('params', z.strictObject({ id: ACCOUNT_ID }));
