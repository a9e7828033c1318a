/** Facts about the bank that runs this app (a deploying bank changes them here). */
export const SERVICE_PHONE = '400-888-0000'
export const SERVICE_PHONE_TEL = 'tel:4008880000'
